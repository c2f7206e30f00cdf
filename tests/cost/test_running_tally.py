"""cost.running_tally: kept current through any sequence of appends, rewrites, truncations and
deletions, it equals a tally built from scratch and one summed by hand (from responses counted by
the README's rule, written out plainly here); saved and loaded back through the usage cache."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import astuple
from pathlib import Path
from typing import Any

import pytest
from msgspec.structs import astuple as key_fields

from cloisterctl.config.load import load_config
from cloisterctl.cost.attribution import Attribution
from cloisterctl.cost.cache_versions import tally_version
from cloisterctl.cost.running_tally import SUMS, RunningTally, subagent_label
from cloisterctl.cost.tally import SessionInfo, Tally, TierOf, tier_function
from cloisterctl.cost.transcripts.ingest import ingest
from cloisterctl.cost.transcripts.locate import discover
from cloisterctl.cost.usage import Response, TranscriptFile
from cloisterctl.cost.usage_cache import load_tally, save_tally
from cloisterctl.ledger.events import make_event
from cloisterctl.ledger.fold import fold
from cloisterctl.ledger.state import WorkspaceState
from cloisterctl.models.prices import PriceTable, Tokens
from testing.helpers import at
from testing.transcripts import assistant, usage_of, user

MODELS = ("claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001", "claude-opus-4-6", "gpt-4o")
# A session, its subagent, a second session, and a session of another project.
PATHS = ("-p/s1.jsonl", "-p/s1/subagents/agent-a1.jsonl", "-p/s2.jsonl", "-q/s3.jsonl")


def random_line(rng: random.Random, session: str) -> str:
    """A transcript line: mostly responses from a small pool of ids, so that streaming copies,
    resumed copies in other files, sidechain replays and id-less lines all turn up."""
    kind = rng.random()
    ts = f"2026-11-0{rng.randint(1, 2)}T{rng.randint(8, 11):02d}:{rng.randint(0, 59):02d}:00.{rng.randint(0, 999):03d}Z"
    if kind < 0.1:
        return user(session, ts, output_size=rng.choice((0, 400)))
    if kind < 0.13:
        return '{"type":"assistant","message":{"id":"broken","usage":{"input_tokens":'
    message = "" if kind < 0.18 else f"m{rng.randint(1, 25)}"
    tokens = usage_of(
        rng.randint(0, 50),
        rng.randint(1, 300),
        rng.choice((0, 0, 1_000)),
        rng.choice((0, 0, 500)),
        rng.choice((0, 150_000, 210_000)),  # some requests above 200K input: long-context rates
        **({"speed": "fast"} if rng.random() < 0.1 else {}),
    )
    return assistant(
        session, message, f"r{rng.randint(1, 3)}", rng.choice(MODELS), ts, tokens, sidechain=rng.random() < 0.25
    )


def step(rng: random.Random, root: Path) -> None:
    """Change the transcripts as Claude Code and people do: mostly appends (sometimes a line left
    half-written), now and then a rewrite, a truncation or a deletion."""
    path = root / rng.choice(PATHS)
    session = path.stem if path.parent.name != "subagents" else path.parent.parent.name
    action = rng.random()
    if action < 0.08 and path.exists():
        path.unlink()
        return
    if action < 0.16 and path.exists():
        data = path.read_bytes()
        path.write_bytes(data[: rng.randint(0, len(data))])
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(random_line(rng, session) + "\n" for _ in range(rng.randint(1, 8)))
    if action < 0.22:
        path.write_text(lines)  # rewritten in place
        return
    if rng.random() < 0.2:
        lines = lines[: rng.randint(1, len(lines) - 1)]  # the writer is mid-line
    with path.open("a") as handle:
        handle.write(lines)


def snapshot(tally: Tally) -> tuple[list[tuple[object, ...]], dict[str, tuple[object, ...]]]:
    cells = sorted((astuple(cell) for cell in tally.cells), key=repr)
    return cells, {session: astuple(info) for session, info in sorted(tally.sessions.items())}


def counted_once(held: Sequence[tuple[TranscriptFile, Sequence[Response]]]) -> list[tuple[TranscriptFile, Response]]:
    """The responses that count, in file (path) and line order, by the README's rule: lines of one
    message id and request id are one response, its line with the most tokens (the first of
    equals); a message with a response that is not a sidechain drops its sidechain ones, else only
    its largest sidechain one counts. A line without a message id counts on its own."""
    lines = [
        ((index, row), file, response) for index, (file, rows) in enumerate(held) for row, response in enumerate(rows)
    ]
    messages: dict[str, list[tuple[tuple[int, int], TranscriptFile, Response]]] = {}
    for line in lines:
        response = line[2]
        messages.setdefault(response.message_id or "\0" + response.request_id, []).append(line)
    kept = []
    for message_lines in messages.values():
        best: dict[str, tuple[tuple[int, int], TranscriptFile, Response]] = {}
        for line in message_lines:  # in place order: a later line wins only with more tokens
            current = best.get(line[2].request_id)
            if current is None or line[2].tokens > current[2].tokens:
                best[line[2].request_id] = line
        responses = list(best.values())
        if len(responses) > 1 and responses[0][2].message_id:
            main = [line for line in responses if not line[2].sidechain]
            if main:
                responses = main
            else:
                most = max(line[2].tokens for line in responses)
                responses = [min(line for line in responses if line[2].tokens == most)]
        kept += responses
    return [(file, response) for _place, file, response in sorted(kept, key=lambda line: line[0])]


def by_hand(
    kept: list[tuple[TranscriptFile, Response]], attribution: Attribution, prices: PriceTable, tier_of: TierOf
) -> tuple[dict[tuple[object, ...], list[float]], dict[str, SessionInfo]]:
    """Cells and sessions summed the plain way, response by response in file and line order."""
    cells: dict[tuple[object, ...], list[float]] = {}
    sessions: dict[str, SessionInfo] = {}
    for file, r in kept:
        agent = attribution.agent_for(file.session, file.project)
        task = attribution.task_for(agent, file.session, r.ts)
        key = (file.project, file.session, agent, task, r.model, tier_of(r.model), r.ts[:10], subagent_label(file))
        tokens = Tokens(r.input, r.output, r.cache_write_5m, r.cache_write_1h, r.cache_read)
        cost = prices.cost(r.model, tokens, fast=r.fast) or 0.0
        sums = cells.setdefault(key, [0, 0.0, 0, 0, 0, 0, 0])
        for index, value in enumerate((1, cost, r.input, r.output, r.cache_write_5m, r.cache_write_1h, r.cache_read)):
            sums[index] += value
        info = sessions.setdefault(file.session, SessionInfo(file.project, agent, r.ts, r.ts))
        info.first, info.last, info.requests = min(info.first, r.ts), max(info.last, r.ts), info.requests + 1
        if r.model not in info.models:
            info.models.append(r.model)
        if not file.subagent and not r.sidechain and r.model not in info.main_models:
            info.main_models.append(r.model)
    return cells, sessions


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_running_tally_after_any_changes_equals_one_built_from_scratch(
    tmp_path: Path, isolated_env: Path, seed: int
) -> None:
    rng = random.Random(seed)
    config = load_config(tmp_path / "no-config.yaml")
    tier_of = tier_function(config)
    events = [
        make_event("route", "dev", at("2026-11-01T09:30:00Z"), task="bd-1"),
        make_event("route", "dev", at("2026-11-02T10:00:00Z"), task="bd-2"),
    ]
    attribution = Attribution.from_state(fold(events, "dev"), {"-p"})
    claude, cache = tmp_path / "claude", tmp_path / "cache"
    root = claude / "projects"
    running: RunningTally | None = None
    for _ in range(40):
        step(rng, root)
        ingested = ingest(cache, discover([claude]))
        held = list(ingested.held().values())
        if running is None:
            running = RunningTally.build(held, attribution, config.prices, tier_of)
        else:
            running.apply(ingested.changes, ingested.held())
        # Saved and loaded back each time: the cache carries it from run to run.
        save_tally(cache, ingested.generation, "basis", running)
        loaded = load_tally(cache, ingested.generation, "basis", attribution, config.prices, tier_of)
        assert loaded is not None
        running = loaded
        rebuilt = RunningTally.build(held, attribution, config.prices, tier_of)
        assert snapshot(running.tally()) == snapshot(rebuilt.tally())
        cells, sessions = by_hand(counted_once(held), attribution, config.prices, tier_of)
        tally = running.tally()
        assert tally.sessions == sessions
        assert {
            key_fields(c.key): [c.requests, c.usd, c.input, c.output, c.cache_write_5m, c.cache_write_1h, c.cache_read]
            for c in tally.cells
        } == {key: pytest.approx(sums, abs=1e-9) for key, sums in cells.items()}
    assert running is not None and running.tally().cells  # the walk did count something


def test_a_saved_tally_of_other_rows_another_basis_or_another_shape_is_not_loaded(
    tmp_path: Path, isolated_env: Path
) -> None:
    config = load_config(tmp_path / "no-config.yaml")
    tier_of = tier_function(config)
    attribution = Attribution.from_state(WorkspaceState(agent="dev"), {"-p"})
    running = RunningTally(attribution, config.prices, tier_of)
    save_tally(tmp_path, "g1", "b1", running)
    assert load_tally(tmp_path, "g1", "b1", attribution, config.prices, tier_of) is not None
    assert load_tally(tmp_path, "g2", "b1", attribution, config.prices, tier_of) is None
    assert load_tally(tmp_path, "g1", "b2", attribution, config.prices, tier_of) is None
    saved = tmp_path / "tally.json"
    cell: dict[str, Any] = {
        "key": {
            "project": "-p",
            "session": "s",
            "agent": None,
            "task": None,
            "model": "claude-haiku-4-5",
            "tier": "haiku",
            "day": "2026-11-01",
            "subagent": "(main)",
        },
        "sums": [1, 1_000_000] + [0] * (SUMS - 2),
    }

    def loaded(cells: list[Any], version: str | None = None) -> RunningTally | None:
        data = {
            "version": version or tally_version(),
            "generation": "g1",
            "basis": "b1",
            "cells": cells,
            "sessions": {},
        }
        saved.write_text(json.dumps(data))
        return load_tally(tmp_path, "g1", "b1", attribution, config.prices, tier_of)

    found = loaded([cell])
    assert found is not None and [c.usd for c in found.tally().cells] == [1.0]
    key = cell["key"]
    for cells in (
        [[1]],
        # the key by position, as cache version 3 wrote it (no tier)
        [[*(key[name] for name in ("project", "session", "agent", "task", "model", "day", "subagent")), cell["sums"]]],
        [{**cell, "key": {**key, "colour": "red"}}],  # a key of another version: a field more
        [{**cell, "key": {name: value for name, value in key.items() if name != "tier"}}],  # one fewer
        [{**cell, "sums": [1, 2, 3]}],  # sums of the wrong length
    ):
        assert loaded(cells) is None, cells
    assert loaded([cell], "another-version") is None
    for text in ("{not json", "[]"):
        saved.write_text(text)
        assert load_tally(tmp_path, "g1", "b1", attribution, config.prices, tier_of) is None
