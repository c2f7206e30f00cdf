"""`cloisterctl flags list|clear`: the agent's flags, and dropping them by hand.

A flag also clears when its cause does, as the decision that raised it recorded
(``TriggerSpec.flag``): a passing test run clears ``test_failure``, new activity ``stuck``, any
progress ``bleed``, a new task all three. ``clear``
records a ``flag_cleared`` event, so the ledger says who cleared what; the decision behind the
flag stays decided (its cause does not fire again).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cloisterctl.errors import CloisterError
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.events import make_event


def list_flags(ctx: Context) -> dict[str, Any]:
    return {"agent": ctx.state.agent, "flags": dict(sorted(ctx.state.flags.items()))}


def clear_flags(ctx: Context, names: Sequence[str], reason: str | None) -> dict[str, Any]:
    """Clear the named flags (all of them when none is named)."""
    state = ctx.state
    current = sorted(state.flags)
    unknown = [name for name in names if name not in state.flags]
    if unknown:
        raise CloisterError(
            f"agent {state.agent} has no flag {unknown[0]!r} (its flags: {', '.join(current) or 'none'})"
        )
    wanted = sorted(set(names)) if names else current
    if wanted:
        ctx.preflight()
        event = make_event(
            "flag_cleared", state.agent, ctx.clock(), flags=wanted, reason=reason, source="cloisterctl flags clear"
        )
        ctx.append([event])
        ctx.publish()
    return {"agent": state.agent, "cleared": wanted, "flags": dict(sorted(ctx.state.flags.items()))}
