"""Which close the tick verifies, with what, and whether a close waits on its verification. Pure.

A close is verified when the agent's current task closed on a tier below
``verification.below_tier`` and something is configured to check it: ``tests.command`` (with
``verification.tests``), the commands its ``verify:NAME`` labels name in
``verification.commands``, and a reviewer session (``verification.reviewer``). A label names; it
never carries a command (the tracker is another clone's, so untrusted): a name the config does not
define is reported, and nothing runs for it.
Each close is verified once (the verification records the closing attempt's ``n``).

While a close's verification is pending, or after it failed, the close does not move the agent on
(``holds``): the triggers that act on a closed task wait, and ``verification_failed`` escalates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cloisterctl.config.settings import Config
from cloisterctl.ledger.state import WorkspaceState
from cloisterctl.models.tiers import tier_rank

TESTS = "tests"  # the name ``tests.command`` runs under in a verification


@dataclass(frozen=True)
class Plan:
    task: str
    attempt: int  # the closing attempt's n
    tier: str
    start: str | None  # when the closing attempt began: its base commit is the last one before it
    commands: tuple[str, ...]  # names: "tests", or a verification.commands key
    unknown: tuple[str, ...] = ()  # verify: labels the trusted config does not define
    review: str | None = None  # the reviewer's tier, when a reviewer session must pass it too


def commands_for(labels: Sequence[str], config: Config) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(names to run, names the labels give that the config does not define)."""
    settings = config.verification
    names: list[str] = [TESTS] if settings.tests and config.tests.command else []
    unknown: list[str] = []
    for label in labels:
        if not label.startswith(settings.label_prefix):
            continue
        name = label[len(settings.label_prefix) :]
        if name in settings.commands and name != TESTS:
            names.append(name)
        elif name != TESTS:
            unknown.append(name)
    return tuple(dict.fromkeys(names)), tuple(unknown)


def argv_of(name: str, config: Config) -> tuple[str, ...]:
    return config.tests.command if name == TESTS else config.verification.commands.get(name, ())


def to_verify(state: WorkspaceState, config: Config) -> Plan | None:
    """The agent's current task's close, when it is to be verified and is not yet."""
    task = state.task
    closing = state.outcomes.closed.get(task or "")
    if task is None or closing is None or not state.tasks.get(task, {}).get("closed"):
        return None
    tier = closing.get("tier")
    if not isinstance(tier, str) or tier_rank(tier) >= tier_rank(config.verification.below_tier):
        return None
    latest = state.outcomes.verifications.get(task)
    if latest is not None and latest.get("attempt") == closing["n"]:
        return None  # verified already, or under way
    labels: list[Any] = state.tasks.get(task, {}).get("labels") or []
    names, unknown = commands_for([str(label) for label in labels], config)
    review = config.verification.reviewer
    if not names and review is None:
        return None
    return Plan(task, int(closing["n"]), tier, closing.get("start"), names, unknown, review)


def _latest(state: WorkspaceState, task: str) -> dict[str, Any] | None:
    """The tick's verification of the task's last close, if any (a verdict recorded by hand with
    `outcomes verify` changes the outcome only: it neither holds nor escalates)."""
    closing = state.outcomes.closed.get(task)
    latest = state.outcomes.verifications.get(task)
    if closing is None or latest is None or latest.get("attempt") != closing["n"] or latest.get("source") != "tick":
        return None
    return latest


def result_of(state: WorkspaceState, task: str) -> str | None:
    """pending, pass, fail or error for the task's last close; None when it was not verified."""
    latest = _latest(state, task)
    return None if latest is None else str(latest["result"])


def holds(state: WorkspaceState, task: str) -> bool:
    """A close the agent must not move on from yet: its verification is running, or failed."""
    return result_of(state, task) in ("pending", "fail")


def failed_verification(state: WorkspaceState, task: str) -> dict[str, Any] | None:
    """The failed verification of the task's last close (its result, tier, ts, note), if it failed."""
    latest = _latest(state, task)
    return latest if latest is not None and latest.get("result") == "fail" else None


def pending(state: WorkspaceState) -> list[Plan]:
    """The verifications started and not yet ended (the tick reads their results, or starts them)."""
    found = []
    for task, latest in sorted(state.outcomes.verifications.items()):
        if latest.get("result") != "pending" or not isinstance(latest.get("attempt"), int):
            continue
        closing = state.outcomes.closed.get(task) or {}
        start = closing.get("start") if closing.get("n") == latest["attempt"] else None
        names = tuple(str(name) for name in latest.get("commands") or ())
        review = str(latest["review"]) if latest.get("review") else None
        found.append(Plan(task, int(latest["attempt"]), str(latest.get("tier") or ""), start, names, (), review))
    return found


def to_reopen(state: WorkspaceState) -> list[str]:
    """Tasks whose verified close failed here and that the tracker still shows closed by that close
    (a later close, by a person say, is theirs to keep): reopened by every tick until the tracker
    says open, so a tick that stopped between the verdict and the reopen loses nothing. A verdict
    another clone or worktree recorded is that place's to act on: never reopened from here."""
    found = []
    for task in sorted(state.outcomes.verifications):
        failed = failed_verification(state, task)
        closed = state.tasks.get(task, {}).get("closed")
        if failed is not None and failed.get("here") and closed and str(closed) <= str(failed["ts"]):
            found.append(task)
    return found
