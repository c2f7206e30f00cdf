"""Synthetic Claude Code transcripts for the cost benches, in the shape Claude Code writes them.

Compact JSON lines (as Claude Code writes; ccusage only counts compact lines), several projects
(paths with dots, underscores and spaces), many sessions, responses written as several lines that
share ``message.id`` + ``requestId`` (the first a streaming snapshot with a tiny output count),
sidechain replays, subagent files, big tool-result user lines, summaries, a few ``<synthetic>``
API-error lines and a few malformed lines. Deterministic for a given seed.

``generate(root, target_bytes, seed, long_context=False)`` writes ``root/projects/...`` and returns
a :class:`Summary`. With ``long_context=False`` no request's input side exceeds 200K tokens, which
is where cloisterctl and ccusage must agree to the cent.
"""

from __future__ import annotations

import json
import os
import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

MODELS = (
    "claude-opus-4-5-20251101",
    "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5-20251001",
    "claude-sonnet-4-6",
    "claude-opus-4-6",
    "claude-3-5-haiku-20241022",
)

PROJECT_PATHS = (
    "/home/dev/proj",
    "/home/dev/my_repo.v2",
    "/home/dev/Client Work/site",
    "/home/dev/proj/.worktrees/feature-x",
    "/srv/build/agent_01",
    "/home/dev/notes.d",
    "/tmp/scratch space/a.b_c",
    "/home/dev/go/src/github.com/acme/tool",
)

_WORDS = (
    "def class return import self value config path error result token cache model tier agent "
    "session handoff ledger state commit branch test assert fixture parse render table cost"
).split()


def project_dir_name(path: str) -> str:
    """Claude Code's project directory name for ``path`` (the short-path case the bench uses)."""
    return re.sub(r"[^A-Za-z0-9]", "-", path)


@dataclass
class Summary:
    files: int = 0
    bytes: int = 0
    sessions: set[str] = field(default_factory=set)
    responses: int = 0


def _compact(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class _Writer:
    def __init__(self, rng: random.Random, long_context: bool) -> None:
        self.rng = rng
        self.long_context = long_context
        self.filler = " ".join(rng.choice(_WORDS) for _ in range(20_000))

    def text(self, size: int) -> str:
        start = self.rng.randrange(0, len(self.filler) - size - 1) if size < len(self.filler) else 0
        return (self.filler[start : start + size] + "\n") * max(1, size // len(self.filler) + 1)

    def usage(self, context: int, first: bool) -> dict[str, object]:
        rng = self.rng
        fresh = rng.randrange(1, 60)
        write = rng.randrange(0, 4_000)
        read = max(0, context - write)
        if not self.long_context:
            read = min(read, 190_000 - fresh - write)
        one_hour = write if rng.random() < 0.15 else 0
        output = rng.randrange(1, 6) if first else rng.randrange(20, 3_000)
        return {
            "input_tokens": fresh,
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read,
            "cache_creation": {"ephemeral_5m_input_tokens": write - one_hour, "ephemeral_1h_input_tokens": one_hour},
            "output_tokens": output,
            "service_tier": "standard",
        }


def _session_lines(
    writer: _Writer, cwd: str, session: str, start: datetime, turns: int, sidechain: bool, summary: Summary
) -> list[str]:
    rng = writer.rng
    lines: list[str] = []
    model = rng.choice(MODELS)
    now = start
    context = rng.randrange(5_000, 30_000)
    parent: str | None = None
    base = {"userType": "external", "cwd": cwd, "sessionId": session, "version": "2.1.0", "gitBranch": "main"}
    if rng.random() < 0.3:
        lines.append(_compact({"type": "summary", "summary": "Work on the parser", "leafUuid": str(uuid.uuid4())}))
    for turn in range(turns):
        if rng.random() < 0.03:  # a mid-session model switch now and then
            model = rng.choice(MODELS)
        now += timedelta(seconds=rng.randrange(5, 120))
        user_uuid = str(uuid.uuid4())
        if turn % 4 == 0:
            content: object = writer.text(rng.randrange(20, 400))
            extra: dict[str, object] = {}
        else:
            output = writer.text(rng.randrange(100, 6_000) if rng.random() < 0.92 else rng.randrange(10_000, 80_000))
            content = [{"tool_use_id": f"toolu_{uuid.uuid4().hex[:24]}", "type": "tool_result", "content": output}]
            extra = {"toolUseResult": {"stdout": output, "stderr": "", "interrupted": False, "isImage": False}}
            if rng.random() < 0.03:
                # A Task (subagent) result: the user line carries the subagent's usage, not a response.
                extra = {
                    "toolUseResult": {
                        "status": "completed",
                        "content": [{"type": "text", "text": output}],
                        "totalTokens": 52_000,
                        "usage": writer.usage(20_000, first=False),
                    }
                }
        lines.append(
            _compact(
                {
                    "parentUuid": parent,
                    "isSidechain": sidechain,
                    **base,
                    "type": "user",
                    "message": {"role": "user", "content": content},
                    "uuid": user_uuid,
                    "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                    **extra,
                }
            )
        )
        parent = user_uuid
        message_id = f"msg_{uuid.UUID(int=rng.getrandbits(128)).hex[:24]}"
        request_id = f"req_{uuid.UUID(int=rng.getrandbits(128)).hex[:24]}"
        context += rng.randrange(500, 6_000)
        blocks = rng.randrange(1, 4)
        final_usage = writer.usage(context, first=False)
        if model == "claude-opus-4-6" and rng.random() < 0.1:
            final_usage["speed"] = "fast"  # fast mode: six times the rates
        for block in range(blocks):
            now += timedelta(milliseconds=rng.randrange(100, 3_000))
            usage = dict(final_usage)
            if block == 0 and blocks > 1:
                usage["output_tokens"] = rng.randrange(1, 6)  # streaming snapshot
            if rng.random() < 0.5:
                block_content: dict[str, object] = {"type": "text", "text": writer.text(rng.randrange(50, 1_500))}
            else:
                block_content = {
                    "type": "tool_use",
                    "id": f"toolu_{uuid.uuid4().hex[:24]}",
                    "name": rng.choice(["Bash", "Read", "Edit", "Write", "Grep"]),
                    "input": {"command": writer.text(rng.randrange(20, 4_000))},
                }
            line_uuid = str(uuid.uuid4())
            lines.append(
                _compact(
                    {
                        "parentUuid": parent,
                        "isSidechain": sidechain,
                        **base,
                        "message": {
                            "id": message_id,
                            "type": "message",
                            "role": "assistant",
                            "model": model,
                            "content": [block_content],
                            "stop_reason": None,
                            "stop_sequence": None,
                            "usage": usage,
                        },
                        "requestId": request_id,
                        "type": "assistant",
                        "uuid": line_uuid,
                        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                    }
                )
            )
            parent = line_uuid
        summary.responses += 1
        if rng.random() < 0.01:
            # An API error: Claude Code writes it as a <synthetic> message with zero usage.
            zero = {
                "input_tokens": 0,
                "output_tokens": 0,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            }
            lines.append(
                _compact(
                    {
                        **base,
                        "type": "assistant",
                        "isApiErrorMessage": True,
                        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "message": {
                            "id": str(uuid.uuid4()),
                            "model": "<synthetic>",
                            "role": "assistant",
                            "usage": zero,
                            "content": [{"type": "text", "text": "API Error: 529 overloaded"}],
                        },
                    }
                )
            )
        if rng.random() < 0.002:
            lines.append('{"type":"assistant","message":{"id":"broken')  # malformed, mid-file
    return lines


def generate(root: Path, target_bytes: int, seed: int = 7, long_context: bool = False) -> Summary:
    """Write transcripts under ``root/projects`` until about ``target_bytes`` have been written."""
    rng = random.Random(seed)
    writer = _Writer(rng, long_context)
    summary = Summary()
    start = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
    while summary.bytes < target_bytes:
        cwd = rng.choice(PROJECT_PATHS)
        project = root / "projects" / project_dir_name(cwd)
        session = str(uuid.UUID(int=rng.getrandbits(128)))
        begin = start + timedelta(hours=rng.randrange(0, 24 * 50))
        lines = _session_lines(writer, cwd, session, begin, rng.randrange(10, 120), False, summary)
        if rng.random() < 0.2 and len(lines) > 4:
            # A sidechain that replays a parent response under a new requestId.
            # It copies the line a reader keeps (the first with the most tokens): ccusage drops a
            # replay only when its timestamp is that line's.
            parsed = [json.loads(line) for line in lines if '"requestId"' in line and '"type":"assistant"' in line]
            last = [item for item in parsed if item["message"]["id"] == parsed[-1]["message"]["id"]]
            most = max(item["message"]["usage"]["output_tokens"] for item in last)
            replay = next(item for item in last if item["message"]["usage"]["output_tokens"] == most)
            replay["isSidechain"] = True
            replay["requestId"] = f"req_{uuid.uuid4().hex[:24]}"
            lines.append(_compact(replay))
        summary.bytes += _write(project / f"{session}.jsonl", lines)
        summary.files += 1
        summary.sessions.add(session)
        for _agent in range(rng.choice((0, 0, 0, 1, 2))):
            agent_lines = _session_lines(writer, cwd, session, begin, rng.randrange(3, 30), True, summary)
            agent_file = project / session / "subagents" / f"agent-{uuid.uuid4().hex[:8]}.jsonl"
            summary.bytes += _write(agent_file, agent_lines)
            summary.files += 1
    return summary


def _write(path: Path, lines: list[str]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = ("\n".join(lines) + "\n").encode("utf-8")
    with open(path, "wb") as handle:
        handle.write(data)
    os.utime(path)
    return len(data)
