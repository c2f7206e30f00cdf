"""What every hook shares: finding the workspace and appending one event line, with nothing but
``os`` and ``time`` (the git hooks run on every commit: no json, pathlib, yaml or
filelock on their path).
"""

from __future__ import annotations

import os
import time

from cloisterctl.files.appendlog import append_bytes

# What this process's hook wrote, so that a failure afterwards can say so.
WRITTEN: list[str] = []
_SAFE = frozenset(" !#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~")


def now_iso() -> str:
    moment = time.time()
    seconds = int(moment)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int((moment - seconds) * 1e6):06d}Z"


def _json_string(text: str) -> str:
    if all(char in _SAFE for char in text):
        return '"' + text + '"'
    import json  # rare: only for text outside plain ASCII

    return json.dumps(text, ensure_ascii=False)


def encode_flat(fields: dict[str, str | int | bool | None]) -> str:
    """One JSON object of flat values, without the json module."""
    parts = []
    for key, value in fields.items():
        if value is None:
            rendered = "null"
        elif isinstance(value, bool):
            rendered = "true" if value else "false"
        elif isinstance(value, int):
            rendered = str(value)
        else:
            rendered = _json_string(value)
        parts.append(f'"{key}":{rendered}')
    return "{" + ",".join(parts) + "}"


def find_workspace(start: str) -> str | None:
    """The nearest directory at or above ``start`` with a `.cloister/` directory."""
    current = os.path.abspath(start)
    while True:
        if os.path.isdir(os.path.join(current, ".cloister")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def append_line(workspace: str, line: str) -> None:
    """Append one event line to the machine-local signal spool: one ``O_APPEND`` write, no lock,
    so a hook never waits for a tick (``files.appendlog``), and never a tracked file (tick moves
    what must be committed to the ledger: ``ledger.spool``)."""
    directory = os.path.join(workspace, ".cloister", "local")
    os.makedirs(directory, exist_ok=True)
    append_bytes(os.path.join(directory, "signals.jsonl"), (line + "\n").encode("utf-8"))
    WRITTEN.append("the signal spool")


def event(type_: str, **fields: str | int | bool | None) -> dict[str, str | int | bool | None]:
    return {
        "id": os.urandom(8).hex(),
        "ts": now_iso(),
        "type": type_,
        "agent": os.environ.get("CLOISTER_AGENT_ID", ""),
        **fields,
    }
