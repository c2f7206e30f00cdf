"""`cloisterctl statusline`: one line for Claude Code's status bar, without click (it runs on every
refresh: see ``cloisterctl.__main__``).

Claude Code writes its statusLine JSON on stdin (``session_id``, ``transcript_path``, ``cwd``,
``model.{id, display_name}``, ``workspace.{current_dir, project_dir}``, ``cost.total_cost_usd``,
...). The workspace is the git work tree of ``workspace.project_dir`` (else ``current_dir``,
``cwd``, this process's directory); its summary (``ledger.statusline_file``: written by every command
that publishes STATE.md) is the one file read, besides one stat of the transcript. The line::

    [sonnet] Sonnet 4.6 | app-1 | $1.23 session | $4.56 today | cache 92% | stuck in 14m | budget day 85% | FLAG bleed

- tier and model: the tier of the session's model when the summary knows it, else the agent's;
  the model as Claude Code names it;
- the task (``idle`` when nothing is ready);
- this session's cost as cloisterctl's tally has it, else Claude Code's own estimate
  (``cost.total_cost_usd``); today's (UTC) spending of the agent;
- the session's cache hit rate (else the workspace's);
- minutes until the stuck threshold of its tier, counted from its last progress (the summary's,
  or the transcript's modification time when it is this session's and later): ``stuck now`` once
  past it;
- each budget at or past ``budgets.warn_at`` (``!`` at the limit), and the flags raised.

It never fails loudly: bad or no input, no workspace, no summary yet each print a short line,
and the exit code is always 0. A summary is read only when its ``version`` is the digest of this
installation's ``ledger.statusline`` (the module that decides what a summary says), so one written
by other code is not misread. Imports: ``json``, ``os``, ``sys``, ``time``, ``workspace.layout``
and ``files.codedigest``.
"""

from __future__ import annotations

import json
import os
import sys
import time

from cloisterctl.files import codedigest
from cloisterctl.workspace import layout

SUMMARY_FILE = "statusline.json"  # ledger.statusline_file.FILE
SCHEMA_MODULE = "cloisterctl.ledger.statusline"  # ledger.statusline_file.SCHEMA_MODULE
MAX_INPUT = 1 << 20
SEPARATOR = " | "


def _get(data: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _today(now: float) -> str:
    moment = time.gmtime(now)
    return f"{moment.tm_year:04d}-{moment.tm_mon:02d}-{moment.tm_mday:02d}"


def summary_version() -> str | None:
    """The version this installation writes summaries with: the digest of its ``ledger.statusline``
    (found beside this module, not looked up: ``find_spec`` would import ``importlib.util``)."""
    package = os.path.dirname(os.path.dirname(__file__))
    try:
        return codedigest.file_digest({SCHEMA_MODULE: os.path.join(package, "ledger", "statusline.py")})
    except OSError:
        return None


def _not_json(name: str) -> object:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: json's extension, never a figure to print


def _loads(text: str) -> object:
    return json.loads(text, parse_constant=_not_json)


def _read_summary(root: str) -> dict[str, object] | None:
    try:
        with open(os.path.join(layout.cache_dir_of(root), SUMMARY_FILE), encoding="utf-8") as handle:
            found = _loads(handle.read(MAX_INPUT))
    except (OSError, ValueError, RecursionError):  # ValueError: not UTF-8, or not JSON
        return None
    if not isinstance(found, dict):
        return None
    version = summary_version()
    if version is None or found.get("version") != version:
        return None  # written by other code (or this installation cannot tell)
    return found


def _stuck(summary: dict[str, object], session: str | None, transcript: str | None, now: float) -> str | None:
    threshold = _number(summary.get("stuck_minutes"))
    since = _number(summary.get("quiet_since"))
    if threshold is None or since is None:
        return None
    if transcript and session and session == summary.get("session"):
        try:
            since = max(since, os.stat(transcript).st_mtime)  # it is working now: its transcript grows
        except OSError:
            pass
    # The stuck rule's own formula (ledger.agent_state.StuckReading): it fires once left is below 0.
    left = threshold - (now - since) / 60
    return "stuck now" if left < 0 else f"stuck in {left:.0f}m"


def _budgets(summary: dict[str, object], today_usd: float) -> list[str]:
    budgets = summary.get("budgets")
    if not isinstance(budgets, dict) or not isinstance(budgets.get("limits"), dict):
        return []
    warn_at = _number(budgets.get("warn_at")) or 0.8
    spent = {"agent": _number(budgets.get("agent_usd")), "task": _number(budgets.get("task_usd")), "day": today_usd}
    shown = []
    for scope in ("agent", "task", "day"):
        limit = _number(budgets["limits"].get(scope))
        used = spent[scope]
        if not limit or used is None or used < warn_at * limit:
            continue
        shown.append(f"budget {scope} {used / limit:.0%}" + ("!" if used >= limit else ""))
    return shown


def compose(data: object, summary: dict[str, object] | None, now: float) -> str:
    """The line for Claude Code's statusLine input ``data`` and the workspace's ``summary``."""
    model_id = _text(_get(data, "model", "id"))
    model = _text(_get(data, "model", "display_name")) or model_id
    claude_cost = _number(_get(data, "cost", "total_cost_usd"))
    if summary is None:
        parts = [model or "?"]
        if claude_cost is not None:
            parts.append(f"{_money(claude_cost)} session")
        return SEPARATOR.join(parts)
    session = _text(_get(data, "session_id"))
    tiers = summary.get("model_tiers")
    tier = (tiers.get(model_id) if isinstance(tiers, dict) and model_id else None) or summary.get("tier")
    model = model or _text(summary.get("model"))
    head = f"[{tier}] {model}" if tier and model else str(tier or model or "?")
    task = summary.get("task") or ("idle" if summary.get("idle") else "no task")
    parts = [head, str(task)]
    sessions = summary.get("sessions")
    mine = sessions.get(session) if isinstance(sessions, dict) and session else None
    session_usd = _number(mine.get("usd")) if isinstance(mine, dict) else claude_cost
    if session_usd is not None:
        parts.append(f"{_money(session_usd)} session")
    days = summary.get("days")
    today_usd = (_number(days.get(_today(now))) if isinstance(days, dict) else None) or 0.0
    parts.append(f"{_money(today_usd)} today")
    rate = _number(mine.get("cache_hit_rate")) if isinstance(mine, dict) else None
    rate = rate if rate is not None else _number(summary.get("cache_hit_rate"))
    if rate is not None:
        parts.append(f"cache {rate:.0%}")
    stuck = _stuck(summary, session, _text(_get(data, "transcript_path")), now)
    if stuck:
        parts.append(stuck)
    parts += _budgets(summary, today_usd)
    flags = summary.get("flags")
    if isinstance(flags, list) and flags:
        parts.append("FLAG " + ",".join(str(flag) for flag in flags))
    return SEPARATOR.join(parts)


def line(raw: bytes, cwd: str | None, now: float) -> str:
    """The statusline for stdin bytes ``raw``, run in ``cwd`` (None: a directory that is gone)."""
    try:
        data = _loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # ValueError: not UTF-8, or not JSON
        return "cloisterctl: no statusLine input (Claude Code writes it on stdin)"
    candidates = (_get(data, "workspace", "project_dir"), _get(data, "workspace", "current_dir"), _get(data, "cwd"))
    directory = next((path for path in candidates if isinstance(path, str) and path and os.path.isdir(path)), cwd)
    root = layout.work_tree_root(directory) if directory else None
    if root is None or not os.path.isdir(os.path.join(root, layout.CLOISTER_DIR)):
        return compose(data, None, now) + SEPARATOR + "not a cloisterctl workspace"
    summary = _read_summary(root)
    if summary is None:
        return compose(data, None, now) + SEPARATOR + "cloisterctl: no summary yet (cloisterctl tick writes it)"
    return compose(data, summary, now)


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # removed while Claude Code runs in it
        return None


def main(args: list[str]) -> int:
    """Print the line; always exit code 0 (a status bar shows what it is given, errors too)."""
    try:
        stdin = sys.stdin
        raw = b"" if stdin is None or stdin.isatty() else stdin.buffer.read(MAX_INPUT)
        text = line(raw, _cwd(), time.time())
    except Exception as exc:  # noqa: BLE001 - never a traceback in someone's status bar
        text = f"cloisterctl: statusline failed ({type(exc).__name__})"
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except OSError:
        pass
    return 0
