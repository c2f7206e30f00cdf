"""`cloisterctl status`: the workspace's current view, read-only (no file is created or changed)."""

from __future__ import annotations

from typing import Any

from cloisterctl import statefile
from cloisterctl.errors import StateFileError
from cloisterctl.state import cost_summary, front_matter
from cloisterctl.store import Snapshot
from cloisterctl.workspace import Workspace


def status_view(ws: Workspace, snap: Snapshot) -> dict[str, Any]:
    state = snap.state
    in_flight = state.handoff_in_flight
    try:
        doc = statefile.read(ws.state_md) if ws.state_md.exists() else None
        state_md = "missing" if doc is None else ("in sync" if doc.cloister == front_matter(state) else "stale")
    except StateFileError as exc:
        state_md = f"invalid: {exc}"
    return {
        "workspace": str(ws.root),
        "agent": state.agent,
        "status": state.status,
        "tier": state.tier,
        "model": state.model,
        "session": state.session,
        "role": state.role,
        "complexity": state.complexity,
        "task": state.task,
        "cost": cost_summary(state),
        "handoffs": state.handoff_count,
        "handoff_in_flight": (
            None
            if in_flight is None
            else {"id": in_flight.id, "step": in_flight.step, "from": in_flight.from_tier, "to": in_flight.to_tier}
        ),
        "pending_approvals": [{"id": d.id, "decision": d.summary()} for d in state.pending_approvals],
        "last_decision": state.last_decision,
        "last_activity": state.last_activity,
        "flags": dict(sorted(state.flags.items())),
        "state_md": state_md,
        "problems": snap.problems,
    }


def render_status(view: dict[str, Any]) -> str:
    complexity = view["complexity"] or {}
    cost = view["cost"]
    rows = [
        ("workspace", view["workspace"]),
        ("agent", f"{view['agent']} ({view['status']})"),
        ("tier", view["tier"] or "-"),
        ("model", view["model"] or "-"),
        ("session", view["session"] or "-"),
        ("complexity", f"{complexity.get('level')} ({complexity.get('source')})" if complexity else "-"),
        ("task", view["task"] or "-"),
        (
            "cost",
            f"${cost['total_usd']:.2f}, cache hit rate {_percent(cost['cache_hit_rate'])}" if cost else "-",
        ),
        ("handoffs", str(view["handoffs"])),
        ("last decision", view["last_decision"] or "-"),
        ("last activity", view["last_activity"] or "-"),
        ("STATE.md", view["state_md"]),
    ]
    if view["role"]:
        rows.insert(4, ("role", view["role"]))
    if view["handoff_in_flight"]:
        h = view["handoff_in_flight"]
        rows.append(("handoff", f"{h['id']} at {h['step']} ({h['from']} -> {h['to']})"))
    for flag, since in view["flags"].items():
        rows.append(("flag", f"{flag} since {since}"))
    for pending in view["pending_approvals"]:
        rows.append(("needs approval", f"{pending['id']}: {pending['decision']}"))
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    lines += [f"warning: {problem}" for problem in view["problems"]]
    return "\n".join(lines)


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"
