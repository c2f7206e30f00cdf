from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import cloisterctl.cost.transcripts.ingest as ingest_module
from cloisterctl.cost.attribution import Attribution
from cloisterctl.cost.running_tally import RunningTally
from cloisterctl.cost.tally import Tally
from cloisterctl.cost.transcripts.claude_result import ModelUse, parse_claude_result
from cloisterctl.cost.transcripts.ingest import Ingested, ingest
from cloisterctl.cost.transcripts.locate import claude_config_dirs, discover, project_dir_name
from cloisterctl.cost.transcripts.parse import parse_lines
from cloisterctl.cost.usage import TranscriptFile
from cloisterctl.errors import UsageError
from cloisterctl.ledger.state import WorkspaceState
from cloisterctl.models.prices import Tokens, price_table
from testing.helpers import FIXTURES
from testing.transcripts import CLAUDE_RESULT, assistant, compact, usage_of, user, write_lines

FIXTURE_PROJECT = FIXTURES / "claude-code" / "projects" / "-home-dev-proj"


# --------------------------------------------------------------------------------------------
# Transcript lines in the shape Claude Code writes (compact JSON, its key order)
# --------------------------------------------------------------------------------------------


def tf(path: Path, session: str = "s", subagent: bool = False) -> TranscriptFile:
    return TranscriptFile(path, path.parent.name, session, subagent)


def totals(tally: Tally, session: str | None = None) -> tuple[int, int, int, int, int]:
    """The tokens of every response that counts (of one session)."""
    cells = [cell for cell in tally.cells if session is None or cell.key.session == session]
    return (
        sum(c.input for c in cells),
        sum(c.output for c in cells),
        sum(c.cache_write_5m for c in cells),
        sum(c.cache_write_1h for c in cells),
        sum(c.cache_read for c in cells),
    )


def ingest_all(cache: Path, files: list[TranscriptFile]) -> tuple[Ingested, Tally]:
    """Read ``files`` (what is new since the last read into ``cache``) and tally every row held."""
    ingested = ingest(cache, files)
    held = list(ingested.held().values())
    attribution = Attribution.from_state(WorkspaceState(agent="dev"), set())
    return ingested, RunningTally.build(held, attribution, price_table(), lambda _model: "other").tally()


# --------------------------------------------------------------------------------------------
# Where transcripts are
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/home/me/my_repo.v2", "-home-me-my-repo-v2"),
        ("/home/dev/proj", "-home-dev-proj"),
        ("/home/dev/Client Work/site", "-home-dev-Client-Work-site"),
        ("/home/dev/proj/.worktrees/feature-x", "-home-dev-proj--worktrees-feature-x"),
        ("/srv/a__b..c  d", "-srv-a--b--c--d"),  # runs are not collapsed
        ("/home/dev/café", "-home-dev-caf-"),
        ("/home/dev/🚀x", "-home-dev---x"),  # outside the BMP: two UTF-16 code units, two dashes
    ],
)
def test_project_dir_names_replace_every_non_alphanumeric(path: str, name: str) -> None:
    assert project_dir_name(path) == name


def test_long_project_dir_names_are_cut_and_hashed_like_claude_code_does() -> None:
    path = "/home/dev/" + "/".join(f"very_long.segment {i}" for i in range(12))
    assert len(path) > 200
    name = project_dir_name(path)
    replaced = "".join(c if c.isascii() and c.isalnum() else "-" for c in path)
    # The JavaScript string hash, computed here by hand for this path's ASCII characters.
    h = 0
    for char in path:
        h = (h * 31 + ord(char)) & 0xFFFFFFFF
    signed = h - (1 << 32) if h >= 1 << 31 else h
    digits, number, suffix = "0123456789abcdefghijklmnopqrstuvwxyz", abs(signed), ""
    while True:
        number, rest = divmod(number, 36)
        suffix = digits[rest] + suffix
        if not number:
            break
    assert name == replaced[:200] + "-" + suffix
    assert project_dir_name(path[:150]) == replaced[:150]  # short names are not hashed


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (needed to run the JavaScript rule)")
@pytest.mark.parametrize(
    "path",
    [
        "/home/dev/" + "deep/" * 50 + "my_repo.v2",
        "/home/dev/" + "ünïcødé dir/" * 20 + "🚀 rocket",
        "/tmp/" + "a" * 196,
        "/tmp/" + "b" * 300,
    ],
)
def test_project_dir_names_match_the_javascript_rule_run_by_node(path: str) -> None:
    script = (
        "const p = process.argv[1];"
        "const name = p.replace(/[^a-zA-Z0-9]/g, '-');"
        "if (name.length <= 200) { console.log(name); } else {"
        "let h = 0; for (let i = 0; i < p.length; i++) { h = (h * 31 + p.charCodeAt(i)) | 0; }"
        "console.log(name.slice(0, 200) + '-' + Math.abs(h).toString(36)); }"
    )
    expected = subprocess.run(["node", "-e", script, path], capture_output=True, text=True, check=True).stdout.strip()
    assert project_dir_name(path) == expected


def test_config_dirs_from_claude_config_dir_or_the_two_defaults(tmp_path: Path) -> None:
    home = tmp_path / "home"
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    assert claude_config_dirs({"HOME": str(home)}) == [home / ".config" / "claude", home / ".claude"]
    assert claude_config_dirs({"HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}) == [
        tmp_path / "xdg" / "claude",
        home / ".claude",
    ]
    listed = {"HOME": str(home), "CLAUDE_CONFIG_DIR": f" {a} ,{b},, {a}"}
    assert claude_config_dirs(listed) == [a, b]  # the same dir twice is read once
    (home / ".claude").mkdir(parents=True)
    (home / ".config").mkdir()
    (home / ".config" / "claude").symlink_to(home / ".claude")
    assert claude_config_dirs({"HOME": str(home)}) == [home / ".config" / "claude"]


def test_discovery_finds_sessions_and_subagents_in_every_config_dir(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    write_lines(one / "projects" / "-p" / "s1.jsonl", [])
    write_lines(one / "projects" / "-p" / "s1" / "subagents" / "agent-a1.jsonl", [])
    write_lines(one / "projects" / "-p" / "s1" / "tool-results" / "x.jsonl", [])  # not a transcript
    write_lines(one / "projects" / "-p" / "notes.txt", [])
    write_lines(one / "projects" / "-q" / "s2.jsonl", [])
    write_lines(two / "projects" / "-p" / "s3.jsonl", [])
    (two / "projects" / "stray.jsonl").write_text("")  # not in a project dir
    found = discover([one, two, tmp_path / "missing"])
    assert [(f.path.relative_to(tmp_path).as_posix(), f.project, f.session, f.subagent) for f in found] == [
        ("one/projects/-p/s1.jsonl", "-p", "s1", False),
        ("one/projects/-p/s1/subagents/agent-a1.jsonl", "-p", "s1", True),
        ("one/projects/-q/s2.jsonl", "-q", "s2", False),
        ("two/projects/-p/s3.jsonl", "-p", "s3", False),
    ]
    assert [f.session for f in discover([one, two], ["-p"])] == ["s1", "s1", "s3"]


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def test_the_fixture_transcripts_parse_to_their_responses(tmp_path: Path) -> None:
    files = [tf(path, path.stem) for path in sorted(FIXTURE_PROJECT.glob("*.jsonl"))]
    sonnet, opus = "506bf2ef-c6f8-7718-6d76-b07e881ed162", "6513270e-269e-0d37-f2a7-4de452e6b438"
    _ingested, tally = ingest_all(tmp_path / "cache", files)
    assert tally.sessions[sonnet].requests == 3  # outputs 355, 180, 1961: the streaming snapshots (output 2) lose
    assert totals(tally, sonnet) == (61, 2496, 5579, 0, 8449)
    assert totals(tally, opus) == (53, 1941, 2398, 2078 + 2616, 6608)
    assert tally.sessions[opus].first == "2026-11-01T09:00:06.000000Z"


def test_lines_that_are_not_billable_responses_are_skipped_and_broken_ones_reported() -> None:
    m = "claude-sonnet-4-6"
    lines = [
        '{"type":"summary","summary":"x","leafUuid":"u"}',
        user("s", "2026-11-01T10:00:00Z", output_size=4000),
        # a subagent's result on a user line carries a usage of its own: not a response
        user("s", "2026-11-01T10:00:01Z", toolUseResult={"usage": {"input_tokens": 5, "output_tokens": 5}}),
        assistant("s", "m-syn", "r-syn", "<synthetic>", "2026-11-01T10:00:02Z", usage_of(10, 10)),
        assistant("s", "m-err", "r-err", m, "2026-11-01T10:00:03Z", usage_of(10, 10), isApiErrorMessage=True),
        '{"type":"assistant","message":{"id":"broken", "usage": {',
        assistant("s", "m-bad", "r-bad", m, "2026-11-01T10:00:04Z", usage_of(10, 10) | {"output_tokens": "12"}),
        assistant("s", "m1", "r1", m, "2026-11-01T10:00:05.123Z", usage_of(7, 9)),
    ]
    chunk = parse_lines(("\n".join(lines) + "\n").encode())
    assert [(r.message_id, r.input, r.output, r.ts) for r in chunk.responses] == [
        ("m1", 7, 9, "2026-11-01T10:00:05.123000Z")
    ]
    assert [what for _at, what in chunk.bad_lines] == [
        "not valid JSON",
        "message.usage.output_tokens is not a token count",
    ]


def test_lines_in_other_shapes_parse_the_slow_way() -> None:
    spaced = json.dumps(
        {
            "type": "assistant",
            "timestamp": "2026-11-01T10:00:00+02:00",
            "requestId": "r1",
            "isSidechain": True,
            "message": {
                "id": "m1",
                "model": "claude-haiku-4-5-20251001",
                "usage": {"input_tokens": 3, "output_tokens": 4},
            },
        }
    )
    header_first = compact(
        {
            "type": "assistant",
            "requestId": "r2",
            "timestamp": "2026-11-01T10:00:01Z",
            "isSidechain": True,
            "message": {
                "id": "m2",
                "model": "claude-haiku-4-5-20251001",
                "content": [{"type": "tool_use", "id": "t", "input": {"model": "x", "usage": {"a": [1]}}}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 5, "output_tokens": 6, "cache_creation_input_tokens": 7},
            },
        }
    )
    no_id = compact(
        {"type": "assistant", "timestamp": "2026-11-01T10:00:02Z", "message": {"model": "m", "usage": usage_of(1, 1)}}
    )
    chunk = parse_lines(f"{spaced}\n{header_first}\n{no_id}\n{no_id}\n".encode())
    assert chunk.bad_lines == []
    first, second, third, fourth = chunk.responses
    assert (first.message_id, first.ts, first.sidechain, first.input, first.output) == (
        "m1",
        "2026-11-01T08:00:00.000000Z",
        True,
        3,
        4,
    )
    assert (second.request_id, second.sidechain, second.cache_write_5m, second.cache_write_1h) == ("r2", True, 7, 0)
    # Lines without a message id cannot be matched with siblings: each counts on its own.
    assert third.message_id == fourth.message_id == "" and third.request_id != fourth.request_id


def test_duplicates_count_once_keeping_the_line_with_most_tokens(tmp_path: Path) -> None:
    m = "claude-sonnet-4-6"
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a_lines = [
        assistant("a", "m1", "r1", m, "2026-11-01T10:00:00Z", usage_of(10, 2)),  # streaming snapshot
        assistant("a", "m1", "r1", m, "2026-11-01T10:00:01Z", usage_of(10, 500)),
        assistant("a", "m1", "r1", m, "2026-11-01T10:00:02Z", usage_of(10, 300)),  # fewer: loses
        # the same message under a second request id, not a sidechain: a second response
        assistant("a", "m1", "r9", m, "2026-11-01T10:00:03Z", usage_of(1, 1)),
        assistant("a", "m2", "r2", m, "2026-11-01T10:01:00Z", usage_of(20, 40)),
    ]
    b_lines = [
        # a sidechain replay of m2 under a new request id: dropped, whichever file it is in
        assistant("b", "m2", "r3", m, "2026-11-01T10:01:00Z", usage_of(20, 4000), sidechain=True),
        # m1/r1 copied into another session (a resume), with more tokens: this copy wins
        assistant("b", "m1", "r1", m, "2026-11-01T10:00:01Z", usage_of(10, 600)),
        # sidechain-only copies of one message: the largest counts
        assistant("b", "m7", "r7", m, "2026-11-01T10:02:00Z", usage_of(1, 70), sidechain=True),
        assistant("b", "m7", "r8", m, "2026-11-01T10:02:01Z", usage_of(1, 80), sidechain=True),
    ]
    write_lines(a, a_lines)
    write_lines(b, b_lines)
    files = [tf(a, "a"), tf(b, "b")]
    for name, order in (("forward", files), ("backward", files[::-1])):
        _ingested, tally = ingest_all(tmp_path / name, order)
        # a: m1/r9 (output 1) and m2/r2 (40); b: m1/r1 (600) and m7/r8 (80)
        assert {session: (info.requests, totals(tally, session)[:2]) for session, info in tally.sessions.items()} == {
            "a": (2, (1 + 20, 1 + 40)),
            "b": (2, (10 + 1, 600 + 80)),
        }


# --------------------------------------------------------------------------------------------
# Incremental reading
# --------------------------------------------------------------------------------------------


def test_a_rerun_with_nothing_new_reads_nothing_and_an_append_reads_only_the_new_bytes(tmp_path: Path) -> None:
    path = tmp_path / "projects" / "-p" / "s.jsonl"
    cache = tmp_path / "cache"
    m = "claude-sonnet-4-6"
    write_lines(
        path,
        [
            user("s", "2026-11-01T10:00:00Z", 2000),
            assistant("s", "m1", "r1", m, "2026-11-01T10:00:01Z", usage_of(1, 2)),
        ],
    )
    files = [tf(path, "s")]
    first, tally = ingest_all(cache, files)
    assert first.bytes_read == path.stat().st_size and first.changes
    assert totals(tally) == (1, 2, 0, 0, 0)
    again, tally = ingest_all(cache, files)
    assert (again.bytes_read, again.changes, again.generation) == (0, [], first.generation)
    assert totals(tally) == (1, 2, 0, 0, 0)
    extra = assistant("s", "m2", "r2", m, "2026-11-01T10:00:02Z", usage_of(3, 4)) + "\n"
    with path.open("a") as handle:
        handle.write(extra)
    later, tally = ingest_all(cache, files)
    assert later.bytes_read == len(extra.encode())
    assert totals(tally) == (4, 6, 0, 0, 0)
    assert first.generation != later.generation


def test_a_half_written_last_line_is_left_for_next_time(tmp_path: Path) -> None:
    path = tmp_path / "projects" / "-p" / "s.jsonl"
    cache = tmp_path / "cache"
    m = "claude-sonnet-4-6"
    done = assistant("s", "m1", "r1", m, "2026-11-01T10:00:00Z", usage_of(1, 1))
    pending = assistant("s", "m2", "r2", m, "2026-11-01T10:00:01Z", usage_of(100, 100))
    path.parent.mkdir(parents=True)
    path.write_text(done + "\n" + pending[:57])
    _ing, tally = ingest_all(cache, [tf(path)])
    assert totals(tally)[:2] == (1, 1)
    with path.open("a") as handle:
        handle.write(pending[57:])  # complete JSON, no newline yet: counted, and read again later
    _ing, tally = ingest_all(cache, [tf(path)])
    assert totals(tally)[:2] == (101, 101)
    with path.open("a") as handle:
        handle.write("\n" + assistant("s", "m3", "r3", m, "2026-11-01T10:00:02Z", usage_of(5, 5)) + "\n")
    _ing, tally = ingest_all(cache, [tf(path)])
    assert totals(tally)[:2] == (106, 106)  # m2 once, not twice


def test_a_truncated_replaced_or_rewritten_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "projects" / "-p" / "s.jsonl"
    cache = tmp_path / "cache"
    m = "claude-sonnet-4-6"
    lines = [assistant("s", f"m{i}", f"r{i}", m, f"2026-11-01T10:00:0{i}Z", usage_of(10, 10)) for i in range(3)]
    write_lines(path, lines)
    _ing, tally = ingest_all(cache, [tf(path)])
    assert totals(tally)[0] == 30
    write_lines(path, lines[:1])  # truncated
    ing, tally = ingest_all(cache, [tf(path)])
    assert totals(tally)[0] == 10 and ing.bytes_read == path.stat().st_size
    replacement = tmp_path / "new.jsonl"
    new_lines = [assistant("s", f"x{i}", f"y{i}", m, "2026-11-01T11:00:00Z", usage_of(7, 7)) for i in range(3)]
    write_lines(replacement, new_lines)
    os.replace(replacement, path)  # a new inode
    _ing, tally = ingest_all(cache, [tf(path)])
    assert totals(tally)[0] == 21
    # Rewritten in place (same inode, longer) with other bytes just before the old end: the
    # checksum of the bytes before the offset tells it from an append.
    rewritten = new_lines[:2] + [assistant("s", "x9", "y9", m, "2026-11-01T11:00:00Z", usage_of(5, 5))]
    with path.open("r+") as handle:
        handle.write("\n".join(rewritten) + "\n" + assistant("s", "z", "z", m, "2026-11-01T11:00:01Z", usage_of(1, 1)))
        handle.write("\n")
    _ing, tally = ingest_all(cache, [tf(path)])
    assert totals(tally)[0] == 7 + 7 + 5 + 1


def test_deleted_files_are_forgotten_and_a_broken_cache_is_rebuilt(tmp_path: Path) -> None:
    project = tmp_path / "projects" / "-p"
    cache = tmp_path / "cache"
    m = "claude-sonnet-4-6"
    for name in ("a", "b"):
        write_lines(project / f"{name}.jsonl", [assistant(name, name, name, m, "2026-11-01T10:00:00Z", usage_of(1, 1))])
    ingested = ingest(cache, discover([tmp_path]))
    assert len(ingested.store.entries) == 2
    (project / "b.jsonl").unlink()
    ingested = ingest(cache, discover([tmp_path]))
    assert list(ingested.store.entries) == [str(project / "a.jsonl")]
    assert "b.jsonl" not in "".join(p.read_text() for p in cache.glob("rows-*.json"))
    (cache / "manifest.json").write_text("{not json")
    for shard in cache.glob("rows-*.json"):
        shard.write_text("[]")
    ingested, tally = ingest_all(cache, discover([tmp_path]))
    assert ingested.bytes_read == (project / "a.jsonl").stat().st_size and tally.sessions["a"].requests == 1


def test_reading_in_worker_processes_gives_the_same_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = "claude-opus-4-5-20251101"
    for s in range(6):
        lines = []
        for i in range(40):
            lines.append(user(f"s{s}", "2026-11-01T10:00:00Z", 3000))
            lines.append(assistant(f"s{s}", f"m{s}-{i}", f"r{s}-{i}", m, "2026-11-01T10:00:01Z", usage_of(i, 2)))
            lines.append(
                assistant(f"s{s}", f"m{s}-{i}", f"r{s}-{i}", m, "2026-11-01T10:00:02Z", usage_of(i, 2 * i, 3, 4, 5))
            )
        write_lines(tmp_path / "projects" / "-p" / f"s{s}.jsonl", lines)
    files = discover([tmp_path])
    _ing, serial = ingest_all(tmp_path / "serial", files)
    monkeypatch.setattr(ingest_module, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(ingest_module, "BATCH_BYTES", 1)  # a batch per file: the workers get some
    _ing, parallel = ingest_all(tmp_path / "parallel", files)
    assert (parallel.cells, parallel.sessions) == (serial.cells, serial.sessions)
    assert totals(serial) == (6 * sum(range(40)), 6 * 2 * sum(range(40)), 6 * 40 * 3, 6 * 40 * 4, 6 * 40 * 5)


def test_an_unreadable_file_is_reported_not_fatal(tmp_path: Path) -> None:
    good = tmp_path / "projects" / "-p" / "a.jsonl"
    write_lines(good, [assistant("a", "m", "r", "claude-sonnet-4-6", "2026-11-01T10:00:00Z", usage_of(1, 1))])
    unreadable = tmp_path / "projects" / "-p" / "b.jsonl"
    unreadable.mkdir()  # cannot be opened as a file (chmod would not stop root)
    ingested = ingest(tmp_path / "cache", [tf(good, "a"), tf(unreadable, "b")])
    assert [f.session for f in ingested.files] == ["a"]
    assert ingested.problems == [f"{unreadable}: cannot read: Is a directory"]


# --------------------------------------------------------------------------------------------
# claude -p --output-format json
# --------------------------------------------------------------------------------------------


def test_a_claude_json_result_gives_usage_per_model() -> None:
    result = parse_claude_result(json.dumps(CLAUDE_RESULT, indent=2), "run.json")
    assert result.session == CLAUDE_RESULT["session_id"] and result.total_cost_usd == 0.0421
    assert result.models == [ModelUse("claude-sonnet-4-5-20250929", Tokens(12, 800, 2000, 1000, 20000), 0.0421)]
    two = dict(CLAUDE_RESULT)
    two["modelUsage"] = {
        "claude-opus-4-7": {"inputTokens": 1, "outputTokens": 2, "cacheCreationInputTokens": 3},
        "claude-haiku-4-5-20251001": {"inputTokens": 4, "outputTokens": 5, "cacheReadInputTokens": 6},
    }
    stream = "\n".join([compact({"type": "system", "subtype": "init"}), compact({"type": "assistant"}), compact(two)])
    models = parse_claude_result(stream, "run.jsonl").models
    assert [
        (m.model, m.tokens.cache_write_5m, m.tokens.cache_write_1h, m.tokens.cache_read, m.reported_usd) for m in models
    ] == [
        ("claude-opus-4-7", 3, 0, 0, None),  # with two models the TTL split is unknown: 5-minute writes
        ("claude-haiku-4-5-20251001", 0, 0, 6, None),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{}", "run.json: no modelUsage in the result"),
        ('{"type":"system"}\n{"type":"assistant"}\n', "run.json: no result object"),
        ('{"type":"system"}\nnot json\n', "run.json:2: not valid JSON"),
        (compact({"type": "result", "modelUsage": {"m": {"inputTokens": -1}}}), "inputTokens is not a token count"),
    ],
)
def test_a_file_that_is_not_a_claude_result_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_claude_result(text, "run.json")
