"""The engine's context: one workspace, its config, the agent runtime, the clock, and the locks.

Every operation that reads or changes a workspace goes through a ``Context``:

- ``state`` is the folded ledger, read once (``snapshot``) and then kept current in memory as the
  context appends its own events: phases of one command never read the files again.
- ``append`` writes a batch of events in one write under the ledger lock (``local=True``: the
  machine-local signal spool).
- ``held`` says why this command may touch no tracked file: a git operation in progress (merge,
  rebase, cherry-pick, revert, bisect) or a detached HEAD (``workspace.git.operation_in_progress``,
  asked once per context). While it holds, every event goes to the machine-local spool (which every
  reader folds, so ``status`` shows it), STATE.md is not written, and nothing is committed; the
  first commit point after it ends moves the spool's events to the ledger and commits them
  (``ledger.spool.promote``, ``ledger.commit.finish``).
- ``refresh`` reads what others appended meanwhile (a wait for the agent needs this; nothing else).
- ``publish`` writes STATE.md's ``cloister:`` block (never while ``held``) once, at the end of a command, from the state
  as it is on disk then (so a hook's event that landed meanwhile is not hidden by an older view),
  and the statusline's summary (``ledger.statusline_file``) from the same state.
- ``tick_lock`` is held by every command that can start or advance a handoff (tick, handoff,
  approve, spawn, stop), so two of them never act on one agent at once.
- ``clock`` is strictly increasing and never earlier than what is folded or than the last event
  this clone wrote (``MonotonicClock``, ``clock_floor``: a clock stepped back too), and
  events of one batch made at the same moment get distinct timestamps in the order they are
  listed (``stamp``): ``(ts, id)`` order is the order things happened, even with a fixed test
  clock. Nothing is recorded under a pinned clock (``CLOISTER_NOW``), and no event dated past the
  real clock plus ``CLOCK_SKEW`` is appended to the committed ledger.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cloisterctl.config.load import load_config
from cloisterctl.config.settings import Config
from cloisterctl.errors import LedgerError, ToolError, WorkspaceError
from cloisterctl.files.atomic import check_writable
from cloisterctl.files.locking import locked
from cloisterctl.ledger import clock as clock_module
from cloisterctl.ledger import clock_floor, identity, segments, statefile, store
from cloisterctl.ledger.bookkeeping import is_bookkeeping
from cloisterctl.ledger.events import Event, format_ts, parse_ts
from cloisterctl.ledger.fold import WorkspaceState, extended
from cloisterctl.runtime.tmux import Tmux, session_name
from cloisterctl.workspace import git
from cloisterctl.workspace.layout import Workspace, find_workspace

KILL_ENV = "CLOISTER_TEST_KILL_AFTER"  # "step:phase": crash on purpose, to test resuming
TICK = timedelta(microseconds=1)  # the ledger's resolution
FUTURE_LIMIT = store.CLOCK_SKEW + timedelta(minutes=1)  # committed events may not be dated later than this ahead


class MonotonicClock:
    """A context's clock: its base clock, but each reading later than the one before and than the
    last event folded (a clone's clock that ran ahead, a base clock that stands still)."""

    def __init__(self, base: Callable[[], datetime], floor: Callable[[], str | None]) -> None:
        self.base: Callable[[], datetime] = base.base if isinstance(base, MonotonicClock) else base
        self._floor = floor
        self._last: datetime | None = None

    def __call__(self) -> datetime:
        moment = self.base()
        if self._last is not None:
            moment = max(moment, self._last + TICK)
        folded = self._floor()
        if folded:
            moment = max(moment, parse_ts(folded) + TICK)
        self._last = moment
        return moment


def tracked_private(ws: Workspace) -> list[str]:
    """The files under ``.cloister/local/`` git tracks (none where there is no git)."""
    try:
        return git.tracked_files(ws.root, [ws.local_dir.relative_to(ws.root).as_posix()])
    except (ToolError, ValueError):
        return []


@dataclass
class Context:
    ws: Workspace
    config: Config
    tmux: Tmux
    clock: Callable[[], datetime]
    _snapshot: store.Snapshot | None = field(default=None, repr=False)
    _state: WorkspaceState | None = field(default=None, repr=False)  # our own copy, once we wrote
    written: list[Event] = field(default_factory=list)  # committed-ledger events this context appended
    _spooled: list[Event] = field(default_factory=list, repr=False)  # signal events it appended
    _stamped: tuple[str, str] | None = field(default=None, repr=False)  # (as made, as written) ts of the last event
    state_md_changed: bool = False  # whether publish changed STATE.md (what the commit point commits)
    committed: bool = False  # whether the commit point ran (``ledger.commit.finish``): once per context
    _floor: str | None = field(default=None, repr=False)  # the last ts this clone wrote, once read
    _operation: str | None = field(default=None, repr=False)  # git's operation in progress ("": none), asked once
    _private_checked: bool = field(default=False, repr=False)  # ``require_private`` asked git once
    kept_local: list[Event] = field(default_factory=list)  # ledger events spooled instead (``append``)
    catch_up: bool = False  # commit what an earlier command left uncommitted (``ledger.commit.take_up``)

    def __post_init__(self) -> None:
        self.clock = MonotonicClock(self.clock, self._folded_until)

    def _folded_until(self) -> str | None:
        """The latest of the last folded event's ts, when the state is read already (reading it
        just for the clock would cost commands that never need it a fold), and the last ts this
        clone wrote (``clock_floor``: read once, a small machine-local file)."""
        if self._floor is None:
            self._floor = clock_floor.read_floor(str(self.ws.local_dir)) or ""
        folded = self.state.last_event_ts if self._state is not None or self._snapshot is not None else None
        return max(folded or "", self._floor) or None

    @classmethod
    def for_workspace(
        cls,
        ws: Workspace,
        config: Config | None = None,
        *,
        tmux: Tmux | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> Context:
        return cls(
            ws,
            config if config is not None else load_config(ws.config_path if ws.config_path.exists() else None),
            tmux if tmux is not None else Tmux.from_env(),
            clock if clock is not None else clock_module.now,
        )

    @classmethod
    def find(cls, directory: Path, *, initialised: bool = True) -> Context:
        """The context of the workspace containing ``directory``."""
        ws = find_workspace(directory)
        if initialised:
            ws.require_initialised()
        return cls.for_workspace(ws)

    # ------------------------------------------------------------------ reading

    @property
    def snapshot(self) -> store.Snapshot:
        if self._snapshot is None:
            self._snapshot = store.snapshot(self.ws)
        return self._snapshot

    @property
    def state(self) -> WorkspaceState:
        """The current state: as read, plus everything this context appended since."""
        return self._state if self._state is not None else self.snapshot.state

    @property
    def problems(self) -> list[str]:
        return self.snapshot.problems

    def refresh(self, *, store_cache: bool = False) -> None:
        """Read what was appended since (by anyone); with ``store_cache`` keep the fold for the next process."""
        self._snapshot = store.snapshot(self.ws, store_cache=store_cache)
        self._state = None
        self._spooled.clear()  # in the files now, and so in the snapshot

    def with_events(self, events: Sequence[Event]) -> WorkspaceState:
        """The state as it would be after ``events`` (nothing is written)."""
        if not events:
            return self.state
        found = extended(self.state, events)
        if found is None:  # an event older than what is folded: only a full fold is right
            from cloisterctl.ledger.fold import fold

            mine = [*self.written, *self._spooled]
            return fold([*self.snapshot.events, *mine, *events], start=identity.blank(self.ws))
        return found

    @property
    def held(self) -> str | None:
        """Why nothing tracked may be written now (``a rebase is in progress``, ``HEAD is
        detached``), or None. Asked of git once per context."""
        if self._operation is None:
            try:
                self._operation = git.operation_in_progress(self.ws.root) or ""
            except ToolError:  # no git here: nothing of git's to disturb
                self._operation = ""
        return git.describe_operation(self._operation) if self._operation else None

    # ------------------------------------------------------------------ writing

    def stamp(self, events: Sequence[Event]) -> None:
        """Give events made at the same moment distinct, increasing timestamps, in list order (an
        event made at another moment, such as a transcript's mtime, keeps its own); and this clone's
        and worktree's origin (``ledger.identity.stamp``)."""
        identity.stamp(self.ws, events)
        for event in events:
            made = event["ts"]
            if self._stamped is None:
                after = self._folded_until()
                if after is not None and made == after:
                    event["ts"] = format_ts(parse_ts(after) + TICK)
            elif self._stamped[0] <= made <= self._stamped[1]:  # made with (or just after) the one before
                event["ts"] = format_ts(parse_ts(self._stamped[1]) + TICK)
            self._stamped = (made, event["ts"])

    def _check_dates(self, events: Sequence[Event], *, local: bool) -> None:
        clock_module.require_real("this command")
        limit = format_ts(datetime.now(UTC) + FUTURE_LIMIT)
        late = [event["ts"] for event in events if event["ts"] > limit]
        if late:
            target = self.ws.signals_path if local else self.ws.segment_for(max(late))
            raise LedgerError(
                f"{target}: refusing to record an event dated {max(late)}, later than the real clock "
                f"allows ({limit}); check the system clock"
            )

    def append(self, events: Sequence[Event], *, local: bool = False, folded: WorkspaceState | None = None) -> None:
        """Append ``events`` in one write; ``folded`` is the state with them (and any earlier batch
        of this step) already applied, from ``with_events`` (a draft's: stamped already). While
        ``held``, every batch goes to the machine-local spool; so does a batch of bookkeeping
        (``ledger.bookkeeping``) with ``tick.commit`` on, to ride the next commit of its own."""
        if not events:
            if folded is not None:
                self._state = folded
            return
        if folded is None:
            self.stamp(events)
        # Held off the tracked files, or bookkeeping that waits for the next commit of its own.
        kept = not local and (self.held is not None or (self.config.tick.commit and is_bookkeeping(events)))
        local = local or kept
        self._check_dates(events, local=local)
        if local:
            identity.prove(self.ws, events)
            segments.append(self.ws.signals_path, self.ws.lock_path, events, self.config.lock_timeout)
        else:
            segments.append_segments(self.ws, events, self.config.lock_timeout)
        latest = max(event["ts"] for event in events)
        clock_floor.raise_floor(str(self.ws.local_dir), latest)
        self._floor = max(self._floor or "", latest)
        (self._spooled if local else self.written).extend(events)
        if kept:
            self.kept_local.extend(events)
        self._state = folded if folded is not None else self.with_events(events)

    def require_private(self) -> None:
        """Raise when git tracks a file under ``.cloister/local/``: the spool, the clock floor and
        the offsets there are this machine's own, read without proof (``ledger.identity``), so one
        a clone committed (``git add -f``) and a pull brought must not act here. Asked of git once
        per context; no git here: nothing can be tracked."""
        if self._private_checked:
            return
        found = tracked_private(self.ws)
        if found:
            shown = ", ".join(found[:3]) + (" ..." if len(found) > 3 else "")
            raise WorkspaceError(
                f"{shown}: git tracks machine-local state (committed by a clone, brought by a pull); "
                f"nothing was read from it or recorded: run `git rm -r --cached {found[0].rsplit('/', 1)[0]}` "
                "and commit, then check what it held"
            )
        self._private_checked = True

    def preflight(self) -> None:
        """Before a command's first write: raise (naming the file) if what it must write at the end
        cannot be written, so that a failure leaves nothing half-recorded."""
        self.require_private()
        clock_module.require_real("this command")
        statefile.check_writable(self.ws.state_md)
        for path in self.ws.ledger_files()[-1:]:
            check_writable(path)

    def publish(self, *, store_cache: bool = False, force: bool = False) -> bool:
        """Project the state into STATE.md (once per command), and into the statusline's summary;
        returns whether STATE.md changed. Never while ``held``; with ``tick.commit`` on, only when
        this command recorded something for a commit of its own (or ``force``): bookkeeping alone
        leaves the tree as it is, and STATE.md catches up in the next commit."""
        committing = bool(self.written) or force or self.catch_up or not self.config.tick.commit
        with locked(self.ws.lock_path, self.config.lock_timeout, what="STATE.md"):
            self.refresh(store_cache=store_cache)
            changed = (
                self.held is None
                and committing
                and store.refresh_state_md(self.ws, self.state, timeout=self.config.lock_timeout)
            )
        self.state_md_changed = self.state_md_changed or changed
        from cloisterctl.ledger import statusline_file

        statusline_file.keep(self.ws, self.state, self.config)
        return changed

    # ------------------------------------------------------------------ locks and the runtime

    @contextmanager
    def tick_lock(self) -> Iterator[None]:
        """Held while a handoff may start or advance: a second holder waits ``tick.wait_seconds``."""
        with locked(self.ws.tick_lock_path, self.config.tick.wait_seconds, what="the tick lock (a tick is running)"):
            yield

    def tmux_name(self, agent: str) -> str:
        return session_name(self.config.runtime.session_prefix, agent, self.ws.root)

    def draft(self) -> Draft:
        return Draft(self)

    @staticmethod
    def maybe_crash(step: str, phase: str) -> None:
        """Test-only fault injection: die here, as a killed tick would (``CLOISTER_TEST_KILL_AFTER``)."""
        if os.environ.get(KILL_ENV) == f"{step}:{phase}":
            os.kill(os.getpid(), signal.SIGKILL)


class Draft:
    """Events decided but not written yet, and the state they lead to: what a tick's decide phase
    builds without any I/O, and then writes as one ledger batch and one signal batch."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.committed: list[Event] = []
        self.local: list[Event] = []
        self._state: WorkspaceState | None = None  # our own copy, once something was added

    @property
    def state(self) -> WorkspaceState:
        return self._state if self._state is not None else self.ctx.state

    def add(self, events: Sequence[Event], *, local: bool = False) -> None:
        if not events:
            return
        self.ctx.stamp(events)
        (self.local if local else self.committed).extend(events)
        found = (
            extended(self._state, events, in_place=True)
            if self._state is not None
            else extended(self.ctx.state, events)
        )
        self._state = found if found is not None else self.ctx.with_events([*self.committed, *self.local])

    def write(self) -> None:
        """Append the two batches; the context's state becomes the drafted one (no second fold)."""
        if self._state is None:
            return
        self.ctx.append(self.committed, folded=self._state)
        self.ctx.append(self.local, local=True, folded=self._state)
