"""What every hook shares: finding the workspace and appending one event line, with ``json``,
``os``, ``time`` and ``fcntl`` (the git hooks run on every commit: no pathlib, yaml or
filelock on their path). An event is dated after the last one this clone wrote
(``ledger.clock_floor``), so a clock stepped back does not put it before them.
"""

from __future__ import annotations

import json
import os
import sys
import time

from cloisterctl.files.appendlog import append_to_spool
from cloisterctl.ledger.clock_floor import floored, raise_floor, read_floor
from cloisterctl.models.names import is_safe_name

TYPE_CHECKING = False  # annotations only: nothing more to import on a hook's path
if TYPE_CHECKING:
    from collections.abc import Mapping

# What this process's hook wrote, so that a failure afterwards can say so.
WRITTEN: list[str] = []
# The fields of a hook's line that are names (``models.names``): a payload's session id, a task id
# from bd, the agent from the environment. "" or none means not known, and is kept.
NAME_FIELDS = ("id", "agent", "session", "task", "parent")


def now_iso() -> str:
    moment = time.time()
    seconds = int(moment)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int((moment - seconds) * 1e6):06d}Z"


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


def append_event(workspace: str, record: Mapping[str, object]) -> None:
    """Append ``record`` as one compact JSON line to the machine-local signal spool: one
    ``O_APPEND`` write, no lock, so a hook never waits for a tick (``files.appendlog``), and never a
    tracked file (tick moves what must be committed to the ledger: ``ledger.spool``).

    A record naming something by an unsafe name is dropped with a warning on stderr (the schema
    would skip the line anyway, and every reader would report it again); the hook still exits 0."""
    for key in NAME_FIELDS:
        value = record.get(key)
        if value not in (None, "") and not is_safe_name(value):
            shown = repr(value)[:60]
            print(f"cloister: {record.get('type')} line dropped: its {key} {shown} is not a safe name", file=sys.stderr)
            return
    directory = os.path.join(workspace, ".cloister", "local")
    os.makedirs(directory, exist_ok=True)
    ts = record.get("ts")
    if isinstance(ts, str):  # after the last event this clone wrote, even if the clock stepped back
        ts = floored(ts, read_floor(directory))
        record = {**record, "ts": ts}
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    append_to_spool(os.path.join(directory, "signals.jsonl"), (line + "\n").encode("utf-8"))
    WRITTEN.append("the signal spool")
    if isinstance(ts, str):
        raise_floor(directory, ts)


def event(type_: str, **fields: str | int | bool | None) -> dict[str, str | int | bool | None]:
    return {
        "id": os.urandom(8).hex(),
        "ts": now_iso(),
        "type": type_,
        "agent": os.environ.get("CLOISTER_AGENT_ID", ""),
        **fields,
    }
