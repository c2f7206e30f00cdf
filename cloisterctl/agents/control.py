"""`cloisterctl spawn`, `stop`, `handoff` and `agents`: an agent's sessions, started and stopped by hand.

`spawn` routes the task (or takes ``--tier``/``--role``), checks that the spawn command can run,
writes a start packet like a handoff's, starts the agent in tmux and watches it for a moment: an
agent that exits at once is an error with its exit code and last output, not a "started".
`handoff` moves a running agent to another tier through the same engine the triggers use (never to
the tier it already runs on); `stop` ends its session gracefully. All three hold the tick lock, so a tick never acts
on the agent at the same time.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from cloisterctl.agents.status import live_status, runtime_of
from cloisterctl.cost.transcripts.locate import session_transcript
from cloisterctl.errors import CloisterError, ToolError
from cloisterctl.handoff import machine
from cloisterctl.handoff.capture import in_dir, write_packet
from cloisterctl.handoff.packet import HandoffInfo
from cloisterctl.handoff.steps import check_command, exit_file
from cloisterctl.handoff.steps import spawn as start_session
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.events import Event, format_ts, make_event
from cloisterctl.ledger.projection import cost_summary
from cloisterctl.routing.route import route_task, tracker_for
from cloisterctl.runtime.launch import describe_exit, read_exit_file
from cloisterctl.triggers import decisions

START_CHECK_SECONDS = 1.0  # an agent that exits within this long after `spawn` is reported, not "started"


def _live(ctx: Context, agent: str) -> bool:
    try:
        return ctx.tmux.alive(ctx.tmux_name(agent))
    except ToolError:
        return False


def check_agent(ctx: Context, agent: str) -> None:
    actual = ctx.state.agent
    if agent != actual:
        raise CloisterError(f"this workspace's agent is {actual!r}, not {agent!r} (use -C to pick another workspace)")


def _spawn_route(ctx: Context, task_id: str | None, tier: str | None, role: str | None) -> dict[str, Any]:
    """The tier, model, rule and reasons a new session starts with."""
    config = ctx.config
    if tier is not None:
        tier = config.tier_of(tier)
        return {"tier": tier, "model": config.tier_model(tier), "rule": "--tier", "reasons": [f"asked for {tier}"]}
    if task_id is None:
        raise CloisterError("give a TASK to route, or --tier")
    routed = route_task(ctx, tracker_for(ctx.ws, config), task_id, role)
    return {
        "tier": routed.tier,
        "model": routed.model,
        "rule": routed.rule,
        "reasons": list(routed.reasons),
        "complexity": {
            "level": routed.complexity.level,
            "source": routed.complexity.source,
            "confidence": routed.complexity.confidence,
        },
    }


def _spawn_events(
    ctx: Context, routed: dict[str, Any], task: str | None, role: str | None, session: str, packet: str
) -> list[Event]:
    agent, now = ctx.state.agent, ctx.clock()
    route_fields = {key: routed[key] for key in ("tier", "model", "rule", "reasons", "complexity") if key in routed}
    return [
        make_event("route", agent, now, task=task, role=role, **route_fields),
        make_event(
            "session",
            agent,
            now,
            session=session,
            model=routed["model"],
            tier=routed["tier"],
            role=role,
            task=task,
            tmux=ctx.tmux_name(agent),
            source="spawn",
            event="start",
            packet=packet,
        ),
    ]


def spawn(ctx: Context, task_id: str | None, *, tier: str | None, role: str | None) -> dict[str, Any]:
    with ctx.tick_lock():
        ctx.preflight()
        state = ctx.state
        if state.handoff_in_flight is not None:
            raise CloisterError(f"handoff {state.handoff_in_flight.id} is in progress; wait for it (cloisterctl tick)")
        if _live(ctx, state.agent):
            raise CloisterError(
                f"agent {state.agent} is already running (tmux {ctx.tmux_name(state.agent)}); "
                "`cloisterctl handoff` moves it, `cloisterctl stop` ends it"
            )
        check_command(ctx, ctx.config.runtime.spawn)
        if task_id is None and tier is None and state.task:
            task_id = state.task  # the task the agent has (its next one, say): route it
        routed = _spawn_route(ctx, task_id, tier, role)
        session = str(uuid.uuid4())
        packet_id = f"spawn-{ctx.clock().strftime('%Y%m%dT%H%M%S')}-{session[:6]}"
        info = HandoffInfo(
            handoff_id=packet_id,
            agent=state.agent,
            workspace=str(ctx.ws.root),
            trigger="spawn",
            reason=f"started by `cloisterctl spawn` ({routed['rule']})",
            from_model=None,
            from_tier=None,
            to_model=routed["model"],
            to_tier=routed["tier"],
            to_role=role,
            handoff_count=state.handoff_count,
            created_at=format_ts(ctx.clock()),
            mode="start",
        )
        task = task_id or state.task
        packet = write_packet(ctx, state, info, task, None, [])
        ctx.append(_spawn_events(ctx, routed, task, role, session, packet["packet"]))
        ctx.publish()
        prompt = in_dir(ctx.ws.handoffs_dir, f"{packet_id}.md")
        start_session(ctx, state.agent, session, routed["model"], routed["tier"], prompt, None)
        _watch_start(ctx, state.agent, session)
    return {
        "agent": state.agent,
        "session": session,
        "tier": routed["tier"],
        "model": routed["model"],
        "tmux": ctx.tmux_name(state.agent),
        "rule": routed["rule"],
        "reasons": routed["reasons"],
        **packet,
    }


def _watch_start(ctx: Context, agent: str, session: str) -> None:
    """Watch a new agent for ``START_CHECK_SECONDS`` (less once its transcript appears): one that
    exits at once is recorded as ended and is an error naming its exit code and last output."""
    name = ctx.tmux_name(agent)
    deadline = time.monotonic() + START_CHECK_SECONDS
    while time.monotonic() < deadline:
        if not _live(ctx, agent):
            ended = read_exit_file(exit_file(ctx, session))
            ctx.append(
                [
                    make_event(
                        "exit",
                        agent,
                        ctx.clock(),
                        session=session,
                        exit_code=ended["exit_code"] if ended else None,
                        output=ended["output"] if ended else None,
                        how="exited right after starting",
                    )
                ]
            )
            ctx.publish()
            raise ToolError(
                f"the agent exited right after starting in tmux session {name} ({describe_exit(ended)}); "
                "check runtime.spawn"
            )
        if session_transcript(ctx.ws.root, session) is not None:
            return  # it is working
        time.sleep(0.05)


def stop(ctx: Context) -> dict[str, Any]:
    with ctx.tick_lock():
        ctx.preflight()
        state = ctx.state
        name = ctx.tmux_name(state.agent)
        how = ctx.tmux.stop(name, ctx.config.runtime.exit_text, ctx.config.runtime.stop_timeout_seconds)
        if state.session:
            exit_file(ctx, state.session).unlink(missing_ok=True)  # stopped on purpose
            ctx.append(
                [
                    make_event(
                        "session", state.agent, ctx.clock(), session=state.session, source="spawn", event="end", how=how
                    )
                ]
            )
            ctx.publish()
    return {"agent": state.agent, "tmux": name, "how": how}


def manual_handoff(ctx: Context, to: str, reason: str, *, wait: bool) -> dict[str, Any]:
    with ctx.tick_lock():
        ctx.preflight()
        try:
            return _manual_handoff(ctx, to, reason, wait=wait)
        finally:
            ctx.publish()


def _manual_handoff(ctx: Context, to: str, reason: str, *, wait: bool) -> dict[str, Any]:
    state = ctx.state
    if state.handoff_in_flight is not None:
        raise CloisterError(f"handoff {state.handoff_in_flight.id} is already in progress")
    proposal = decisions.manual(ctx, to, reason)
    [event] = decisions.decision_events(state, ctx.clock(), [proposal])
    ctx.append([event])
    decision = ctx.state.decisions[event["id"]]
    started = decisions.apply(ctx, decision, mark_applied=False)
    result: dict[str, Any] = {"decision": decision.id, "summary": decision.summary(), "economics": proposal.economics}
    if started is None:
        result["handoff"] = None
        result["note"] = "no session was running; the next spawn uses the new tier"
        return result
    times = ctx.config.handoffs
    budget = times.save_timeout_seconds + times.spawn_timeout_seconds + 60
    final = machine.advance(ctx, started, wait=wait, deadline=time.monotonic() + budget)
    result["handoff"] = {
        "id": final.id,
        "step": final.step,
        "reason": final.fields.get("reason") if final.step == "failed" else None,
    }
    return result


def listing(ctx: Context) -> dict[str, Any]:
    state = ctx.state
    alive, runtime = runtime_of(ctx, state)
    cost = cost_summary(state)
    return {
        "agent": state.agent,
        "workspace": str(ctx.ws.root),
        "status": live_status(state, runtime),
        "runtime": runtime,
        "tier": state.tier,
        "model": state.model,
        "role": state.role,
        "session": state.session,
        "task": state.task,
        "tmux": ctx.tmux_name(state.agent),
        "alive": alive,
        "handoffs": state.handoff_count,
        "cost_usd": cost["total_usd"] if cost else None,
    }
