"""`cloisterctl spawn`, `stop`, `handoff` and `agents`: an agent's sessions, started and stopped by hand.

`spawn` routes the task (or takes ``--tier``/``--role``), writes a start packet like a handoff's, and
starts the agent in tmux; `handoff` moves a running agent to another tier through the same engine the
triggers use; `stop` ends its session gracefully.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from cloisterctl import decisions, handoff, ledger
from cloisterctl.errors import CloisterError, ToolError
from cloisterctl.ledger import format_ts
from cloisterctl.packet import HandoffInfo
from cloisterctl.state import WorkspaceState, cost_summary
from cloisterctl.store import record, snapshot


def _live(engine: handoff.Engine, state: WorkspaceState) -> bool:
    try:
        return engine.tmux.alive(engine.tmux_name(state.agent))
    except ToolError:
        return False


def spawn(engine: handoff.Engine, task_id: str | None, *, tier: str | None, role: str | None) -> dict[str, Any]:
    from cloisterctl.routing import route_task, tracker_for

    ws, config = engine.ws, engine.config
    state = snapshot(ws).state
    if state.handoff_in_flight is not None:
        raise CloisterError(f"handoff {state.handoff_in_flight.id} is in progress; wait for it (cloisterctl tick)")
    if _live(engine, state):
        raise CloisterError(
            f"agent {state.agent} is already running (tmux {engine.tmux_name(state.agent)}); "
            "`cloisterctl handoff` moves it, `cloisterctl stop` ends it"
        )
    reasons: list[str]
    route_fields: dict[str, Any] = {}
    if tier is not None:
        tier = config.tier_of(tier)
        model, rule, reasons = config.tier_model(tier), "--tier", [f"asked for {tier}"]
    else:
        if task_id is None:
            raise CloisterError("give a TASK to route, or --tier")
        routed = route_task(ws, config, tracker_for(ws, config), task_id, role)
        tier, model, rule, reasons = routed.tier, routed.model, routed.rule, list(routed.reasons)
        route_fields["complexity"] = {
            "level": routed.complexity.level,
            "source": routed.complexity.source,
            "confidence": routed.complexity.confidence,
        }
    session = str(uuid.uuid4())
    packet_id = f"spawn-{engine.clock().strftime('%Y%m%dT%H%M%S')}-{session[:6]}"
    info = HandoffInfo(
        handoff_id=packet_id,
        agent=state.agent,
        workspace=str(ws.root),
        trigger="spawn",
        reason=f"started by `cloisterctl spawn` ({rule})",
        from_model=None,
        from_tier=None,
        to_model=model,
        to_tier=tier,
        to_role=role,
        handoff_count=state.handoff_count,
        created_at=format_ts(engine.clock()),
    )
    packet = handoff.write_packet(engine, state, info, task_id or state.task, None, [])
    name = engine.tmux_name(state.agent)
    record(
        ws,
        [
            ledger.make_event(
                "route",
                state.agent,
                engine.clock(),
                task=task_id or state.task,
                tier=tier,
                model=model,
                rule=rule,
                role=role,
                reasons=reasons,
                **route_fields,
            ),
            ledger.make_event(
                "session",
                state.agent,
                engine.clock(),
                session=session,
                model=model,
                tier=tier,
                role=role,
                task=task_id or state.task,
                tmux=name,
                source="spawn",
                event="start",
                packet=packet["packet"],
            ),
        ],
        timeout=config.lock_timeout,
    )
    handoff.spawn(engine, state.agent, session, model, tier, ws.handoffs_dir / f"{packet_id}.md", None)
    return {
        "agent": state.agent,
        "session": session,
        "tier": tier,
        "model": model,
        "tmux": name,
        "rule": rule,
        "reasons": reasons,
        **packet,
    }


def stop(engine: handoff.Engine) -> dict[str, Any]:
    state = snapshot(engine.ws).state
    name = engine.tmux_name(state.agent)
    how = engine.tmux.stop(
        name,
        str(engine.config.get("runtime", "exit_text")),
        float(engine.config.get("runtime", "stop_timeout_seconds")),
    )
    if state.session:
        record(
            engine.ws,
            [
                ledger.make_event(
                    "session", state.agent, engine.clock(), session=state.session, source="spawn", event="end", how=how
                )
            ],
            timeout=engine.config.lock_timeout,
        )
    return {"agent": state.agent, "tmux": name, "how": how}


def manual_handoff(engine: handoff.Engine, to: str, reason: str, *, wait: bool) -> dict[str, Any]:
    state = snapshot(engine.ws).state
    if state.handoff_in_flight is not None:
        raise CloisterError(f"handoff {state.handoff_in_flight.id} is already in progress")
    proposal = decisions.manual(engine, to, reason)
    [event] = decisions.record(engine, state, [proposal])
    decision = snapshot(engine.ws).state.decisions[event["id"]]
    started = decisions.apply(engine, decision, mark_applied=False)
    result: dict[str, Any] = {"decision": decision.id, "summary": decision.summary(), "economics": proposal.economics}
    if started is None:
        result["handoff"] = None
        result["note"] = "no session was running; the next spawn uses the new tier"
        return result
    config = engine.config
    budget = sum(float(config.get("handoffs", key)) for key in ("save_timeout_seconds", "spawn_timeout_seconds")) + 60
    final = handoff.advance(engine, started, wait=wait, deadline=time.monotonic() + budget)
    result["handoff"] = {
        "id": final.id,
        "step": final.step,
        "reason": final.fields.get("reason") if final.step == "failed" else None,
    }
    return result


def listing(engine: handoff.Engine) -> dict[str, Any]:
    state = snapshot(engine.ws).state
    name = engine.tmux_name(state.agent)
    try:
        alive: bool | None = engine.tmux.alive(name)
    except ToolError:
        alive = None
    cost = cost_summary(state)
    return {
        "agent": state.agent,
        "workspace": str(engine.ws.root),
        "status": state.status,
        "tier": state.tier,
        "model": state.model,
        "role": state.role,
        "session": state.session,
        "task": state.task,
        "tmux": name,
        "alive": alive,
        "handoffs": state.handoff_count,
        "cost_usd": cost["total_usd"] if cost else None,
    }
