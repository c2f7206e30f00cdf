"""Claude Code transcript lines and `claude -p` results in their real shapes, for tests."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any


def compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


CLAUDE_RESULT = {
    "type": "result",
    "subtype": "success",
    "is_error": False,
    "duration_ms": 5123,
    "num_turns": 3,
    "result": "Done.",
    "session_id": "0f0e1d2c-0000-4000-8000-000000000001",
    "total_cost_usd": 0.0421,
    "usage": {
        "input_tokens": 12,
        "cache_creation_input_tokens": 3000,
        "cache_read_input_tokens": 20000,
        "output_tokens": 800,
        "cache_creation": {"ephemeral_1h_input_tokens": 1000, "ephemeral_5m_input_tokens": 2000},
    },
    "modelUsage": {
        "claude-sonnet-4-5-20250929": {
            "inputTokens": 12,
            "outputTokens": 800,
            "cacheReadInputTokens": 20000,
            "cacheCreationInputTokens": 3000,
            "webSearchRequests": 0,
            "costUSD": 0.0421,
            "contextWindow": 200000,
        }
    },
}


def assistant(
    session: str,
    message_id: str,
    request_id: str | None,
    model: str,
    ts: str,
    tokens: dict[str, Any],
    *,
    sidechain: bool = False,
    content: list[dict[str, Any]] | None = None,
    **top: Any,
) -> str:
    line: dict[str, Any] = {
        "parentUuid": None,
        "isSidechain": sidechain,
        "userType": "external",
        "cwd": "/home/dev/proj",
        "sessionId": session,
        "version": "2.1.0",
        "gitBranch": "main",
        "message": {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content if content is not None else [{"type": "text", "text": "ok"}],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": tokens,
        },
        "type": "assistant",
        "uuid": str(uuid.uuid4()),
        "timestamp": ts,
        **top,
    }
    if request_id is not None:
        line["requestId"] = request_id
    return compact(line)


def usage_of(
    fresh: int = 0, output: int = 0, write_5m: int = 0, write_1h: int = 0, read: int = 0, **extra: Any
) -> dict[str, Any]:
    return {
        "input_tokens": fresh,
        "cache_creation_input_tokens": write_5m + write_1h,
        "cache_read_input_tokens": read,
        "cache_creation": {"ephemeral_5m_input_tokens": write_5m, "ephemeral_1h_input_tokens": write_1h},
        "output_tokens": output,
        "service_tier": "standard",
        **extra,
    }


def user(session: str, ts: str, output_size: int = 0, **extra: Any) -> str:
    content: Any = "do the next step"
    if output_size:
        text = ("x" * 79 + "\n") * (output_size // 80)
        content = [{"tool_use_id": "toolu_1", "type": "tool_result", "content": text}]
        extra = {"toolUseResult": {"stdout": text, "stderr": ""}, **extra}
    line = {
        "parentUuid": None,
        "isSidechain": False,
        "userType": "external",
        "cwd": "/home/dev/proj",
        "sessionId": session,
        "version": "2.1.0",
        "gitBranch": "main",
        "type": "user",
        "message": {"role": "user", "content": content},
        "uuid": str(uuid.uuid4()),
        "timestamp": ts,
        **extra,
    }
    return compact(line)


def write_lines(path: Path, lines: list[str], *, newline_at_end: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + ("\n" if newline_at_end else ""), encoding="utf-8")
