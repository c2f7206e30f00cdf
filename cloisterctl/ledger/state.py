"""The folded state of a workspace, as records. Pure.

What the fold keeps is bounded: the current view, the decisions still open plus the latest
``KEEP_DECISIONS``, the handoff in flight plus the latest ``KEEP_HANDOFFS``, the exits of the
latest ``KEEP_EXITS`` sessions, the agent's own situation (its task or why it is idle, the brief
still to be carried out, its last progress: ``ledger.agent_state``), the spending budgets read
(``Spending``: per agent, per task, per day for ``KEEP_DAYS``, the latest sessions), per-session
aggregates (cost checkpoints, attribution), and compact task windows: not every event ever. So a
year of ledger folds to a state of the same order of size as a week of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cloisterctl.ledger.decisions import TIER_CHANGES
from cloisterctl.ledger.events import Event

# Agent statuses shown in STATE.md and `status`.
WORKING = "working"
HANDOFF = "handoff-in-progress"
AWAITING_APPROVAL = "awaiting-approval"
STUCK = "stuck"
NEW = "new"
IDLE = "idle"  # its task closed and no task is ready
STOPPED = "stopped"  # started once, no session now
ROUTED = "routed"  # a tier was chosen, nothing started yet
DEAD = "dead"  # the ledger calls a session current, its process is gone

HANDOFF_STEPS = ("requested", "save_requested", "idle", "captured", "stopped", "spawned", "completed")
HANDOFF_FINAL = ("completed", "failed")

# Activity that only the agent itself produces; other sources (commits, test runs) may come from
# a person or another process in the same work tree.
AGENT_SOURCES = frozenset({"agent", "transcript", "spawn"})
KEEP_DECISIONS = 50  # besides the open ones (proposed, approved)
KEEP_HANDOFFS = 20  # besides the one in flight
KEEP_CONTEXTS = 20  # sessions whose warm context is remembered
KEEP_EXITS = 20  # sessions whose process was found gone, besides the current one
KEEP_DAYS = 31  # UTC days of each agent's spending kept (budgets.day_usd reads today's)
KEEP_SESSION_SPENDING = 20  # sessions whose own cost and cache figures are kept (the statusline's)
TOKEN_KINDS = ("input", "output", "cache_write", "cache_read")
MICRO = 1_000_000  # cost totals are whole micro-dollars
OPEN_STATUSES = frozenset({"proposed", "approved"})
# The fields of a cost checkpoint that totals, comparisons and the economics read.
CHECKPOINT_KEYS = (
    "id",
    "ts",
    "agent",
    "session",
    "scope",
    "usd",
    "by_model",
    "by_tier",
    "tokens",
    "requests",
    "models",
    "mid_session_switch",
    "context_tokens",
    "by_day",
    "by_task",
    "unpriced",
)


# Sessions seen only for their cost: through an agent's hooks, or a reviewer's (``handoff.review``).
# Never the agent's current session, never an attempt.
COST_ONLY_SOURCES = frozenset({"hook", "review"})


@dataclass
class Decision:
    id: str
    ts: str
    trigger: str
    cause: str
    task: str | None
    from_tier: str | None
    to_tier: str | None
    kind: str
    reason: str
    status: str
    fields: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        move = f"{self.from_tier or '?'} -> {self.to_tier or '?'}"
        if self.to_tier is None and self.kind not in TIER_CHANGES:
            move = self.kind + (f" on {self.from_tier}" if self.from_tier else "")  # no tier change
        role = self.fields.get("to_role")
        if role:
            move += f" ({role})"
        task = f" [{self.task}]" if self.task else ""
        return f"{self.trigger}: {move}{task} {self.status}: {self.reason}"


@dataclass
class Handoff:
    """A handoff's progress: ``step`` is the last step completed; ``pending`` a step whose side
    effect was begun but not recorded as done (a crash in between), to be resumed idempotently."""

    id: str
    step: str
    started: str
    updated: str
    from_tier: str | None
    to_tier: str | None
    decision: str | None
    pending: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def in_flight(self) -> bool:
        return self.step not in HANDOFF_FINAL


@dataclass
class CostTotals:
    """The sum of every session's latest cost checkpoint, kept as the checkpoints arrive: whole
    micro-dollars, so the sum is exact and the same whatever order it was built in."""

    micro_usd: int = 0
    # key -> [micro-dollars, how many checkpoints name it]: a key stays while a checkpoint names it
    by_model: dict[str, list[int]] = field(default_factory=dict)
    by_tier: dict[str, list[int]] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_KINDS, 0))
    switches: int = 0  # sessions whose own transcript shows two models
    checkpoints: int = 0
    # model -> [requests counted at $0, how many checkpoints name it]: the models with no price,
    # whose cost every total here leaves out (a total is then a lower bound)
    unpriced: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class Spending:
    """What budgets and the statusline read, kept as cost checkpoints arrive (``ledger.spending``),
    in whole micro-dollars: each agent's spending in all and on each of the latest ``KEEP_DAYS``
    UTC days, each task's, and the latest sessions' own figures. Bounded by the agents, the tasks
    (which the state holds anyway) and the window."""

    by_agent: dict[str, int] = field(default_factory=dict)
    by_task: dict[str, int] = field(default_factory=dict)
    by_day: dict[str, dict[str, int]] = field(default_factory=dict)  # agent -> UTC day -> micro-dollars
    latest_day: str = ""  # the newest day seen: the window is the KEEP_DAYS days up to it
    # session -> [micro-dollars, cache reads, everything read (input + cache writes + cache reads)]
    sessions: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class OutcomeBook:
    """What ``ledger.attempts`` keeps as events arrive: the attempt running now, the attempt that
    closed each task (so a later reopen or failed verification takes its success back), and per
    ``level/tier`` the counts [attempts ended, successes, failures, escalations, micro-USD of the
    costed attempts, how many were costed] that the adaptive router reads in O(1). Bounded by the
    tasks (which the state holds anyway) and the levels x tiers."""

    current: dict[str, Any] | None = None
    closed: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, list[int]] = field(default_factory=dict)
    seq: int = 0  # attempts begun: each attempt's ``n``
    # The latest verification of each task's close: {"result" (pending, pass, fail, error),
    # "attempt" (the closing attempt's n), "tier", "ts", "id"}.
    verifications: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Per tier of the closing attempt: [failures caught by a verification, accepted closes that
    # later failed (reopened, or failed a later verification)]: what ``routing.detection`` reads.
    detection: dict[str, list[int]] = field(default_factory=dict)
    # The attempt running now of each other agent the ledger tells of (merged from another branch,
    # worktree or clone: ``ledger.ownership.teammate``), so that their outcomes count too.
    others: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class ColdState:
    """Per-session aggregates that grow with the ledger's history: the latest cost checkpoint of
    each session (and of each agent's usage events), and what cost attribution needs (which agent
    and task each session belongs to, named by spawn or hook records or found with a transcript;
    the transcripts the ledger names; each agent's task over time, an entry only when the task
    changes; the usage events). Loaded only when something reads or changes it, so a quiet tick
    never pays for a year of sessions. Values are replaced, never changed in place (``copy_state``
    copies the maps, not their values)."""

    cost_checkpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[str, None] = field(default_factory=dict)  # every session the ledger names
    session_agents: dict[str, str] = field(default_factory=dict)
    found_agents: dict[str, str] = field(default_factory=dict)
    session_tasks: dict[str, str] = field(default_factory=dict)
    transcripts: dict[str, None] = field(default_factory=dict)
    task_windows: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    usage_events: list[Event] = field(default_factory=list)
    session_places: dict[str, str] = field(default_factory=dict)  # session -> "clone/worktree" that named it first


@dataclass
class WorkspaceState:
    agent: str
    # Who folds (``ledger.ownership``): this clone's id and this worktree's name (None: a fold
    # that knows no origin, which reads every event as its own, as 0.1.0 did), and whether the
    # agent is the worktree's recorded one (``workspace.origin.hosted_agent``) or may still be
    # named by an ``init`` event of this worktree.
    clone: str | None = None
    worktree: str | None = None
    pinned: bool = False
    # Whether an event this clone and worktree recorded (with an origin) has been folded: from then
    # on a line with no origin is not this worktree's own (``ledger.ownership.owns``).
    stamped: bool = False
    # The other agents the ledger tells of: teammate key -> what they last reported (history).
    teammates: dict[str, dict[str, Any]] = field(default_factory=dict)
    tier: str | None = None
    model: str | None = None
    session: str | None = None
    role: str | None = None
    complexity: dict[str, Any] | None = None
    task: str | None = None
    tier_since: str | None = None
    handoff_count: int = 0
    last_decision: str | None = None
    decisions: dict[str, Decision] = field(default_factory=dict)
    causes: set[str] = field(default_factory=set)
    duplicates: dict[str, str] = field(default_factory=dict)  # decision id -> the cause decided before it
    escalations: dict[str, int] = field(default_factory=dict)
    last_tier_change: str | None = None
    activity: dict[str, str] = field(default_factory=dict)
    test_failures_in_a_row: int = 0
    last_test: dict[str, Any] | None = None
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    handoffs: dict[str, Handoff] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)  # name -> when it was raised
    flag_clears: dict[str, list[str]] = field(default_factory=dict)  # name -> what ends it (ledger.decisions)
    idle_signals: dict[str, str] = field(default_factory=dict)
    last_event_ts: str | None = None
    last_event_id: str | None = None
    finished_handoffs: set[str] = field(default_factory=set)  # pruned ones: a late line is ignored
    cost_totals: CostTotals = field(default_factory=CostTotals)
    # The warm context of the latest sessions (from their cost checkpoints), for the economics.
    session_context: dict[str, int] = field(default_factory=dict)
    idle: dict[str, Any] | None = None  # {"reason", "since", "after"}: no task is ready
    exited: dict[str, str] = field(default_factory=dict)  # session -> when its process was found gone
    spawned: bool = False  # cloisterctl has started a session for this agent (stopped, not new)
    session_clone: str | None = None  # the clone that started the current session (None: a legacy line)
    brief_pending: str | None = None  # a decision whose effect on the agent is not carried out yet
    progress_at: str | None = None  # the last commit, task change or passing test
    progress_micro_usd: int = 0  # the cost totals at that moment (micro-dollars)
    spending: Spending = field(default_factory=Spending)
    # The budget warnings recorded (``budget`` events): scope (agent, task, day) -> {"level" (warn
    # or over), "key" (the agent, task or day), "spent_usd", "limit_usd" (when it was reached), "since"}.
    budgets: dict[str, dict[str, Any]] = field(default_factory=dict)
    outcomes: OutcomeBook = field(default_factory=OutcomeBook)
    # The per-session aggregates: None until loaded (``cold``) by ``cold_loader``, which the fold
    # cache sets; a state that was folded here has them from the start.
    cold_state: ColdState | None = field(default_factory=ColdState)
    cold_loader: Any = field(default=None, compare=False, repr=False)

    @property
    def cold(self) -> ColdState:
        if self.cold_state is None:
            assert self.cold_loader is not None, "a state without its per-session aggregates, and no way to load them"
            self.cold_state = self.cold_loader()
            self.cold_loader = None
        return self.cold_state

    @property
    def handoff_in_flight(self) -> Handoff | None:
        for handoff in self.handoffs.values():
            if handoff.in_flight:
                return handoff
        return None

    @property
    def pending_approvals(self) -> list[Decision]:
        return sorted((d for d in self.decisions.values() if d.status == "proposed"), key=lambda d: (d.ts, d.id))

    @property
    def status(self) -> str:
        if self.handoff_in_flight is not None:
            return HANDOFF
        if self.pending_approvals:
            return AWAITING_APPROVAL
        if self.tier is None:
            return NEW
        if self.session is None:
            return STOPPED if self.spawned else ROUTED
        if self.session in self.exited:
            return DEAD
        if self.flags.get("stuck"):
            return STUCK
        if self.idle is not None:
            return IDLE
        return WORKING

    @property
    def spent_usd(self) -> float:
        """The sum of every session's latest cost checkpoint."""
        return self.cost_totals.micro_usd / MICRO

    @property
    def spent_since_progress(self) -> float:
        """What the cost-bleed guard measures: spending since the last progress."""
        return max(0, self.cost_totals.micro_usd - self.progress_micro_usd) / MICRO

    @property
    def last_key(self) -> tuple[str, str]:
        """The ``(ts, id)`` of the last event folded: new events must sort after it."""
        return (self.last_event_ts or "", self.last_event_id or "")

    @property
    def last_activity(self) -> str | None:
        return max(self.activity.values(), default=None)
