"""The tally kept current one change at a time. Pure.

Per cell (``CellKey``) the integer token sums of the responses that count, split by the rates they
are priced at (base, long context, fast), and per session what its ``SessionInfo`` is made of. A
read that finds new lines changes only the dedup groups of those lines
(``cloisterctl.cost.dedup``): their old contributions are taken out and their new ones put in, so
the counting a run does is that of what it read (finding the other lines of those groups is one
pass over the rows held). A line replaced by one with more tokens for the same key replaces its
contribution; a file read again from the start replaces all of its own. A full build counts file by
file, as files are read, and then puts right the groups found in more than one file.

USD is computed from the integer sums when the tally is read, so adding and taking out are exact
and the result is the same however the lines arrived. The cells depend on the attribution, the
prices and the tiers; when one changes, the caller builds the tally again from the rows it holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from msgspec.structs import astuple

from cloisterctl.cost.attribution import Attribution
from cloisterctl.cost.dedup import counted, counted_in_group, group_of
from cloisterctl.cost.tally import MAIN, UNKNOWN_TYPE, Cell, CellKey, SessionInfo, Tally, TierOf
from cloisterctl.cost.usage import Response, TranscriptFile
from cloisterctl.models.prices import PER_MILLION, Price, PriceTable, Rates

Position = tuple[str, int]  # (file key, row in the file's rows): the order ties are broken in
Contribution = tuple[Position, Response]
HeldFile = tuple[TranscriptFile, Sequence[Response]]  # a file and its rows, one per key

_UNKNOWN = object()

# A cell's sums: for each way of pricing (base or unpriced, long context, fast) six integers:
# requests, input, output, cache writes 5m and 1h, cache reads.
BASE, LONG, FAST = 0, 6, 12
SUMS = 18


@dataclass
class SessionSums:
    """What a session's ``SessionInfo`` is made of, kept exact under additions and removals: the
    earliest and latest times with how many responses have them, and per model (all, and the
    session's own) and per project the count and earliest place with how many are there."""

    requests: int = 0
    first: list[Any] = field(default_factory=lambda: ["", 0])  # [ts, how many at it]
    last: list[Any] = field(default_factory=lambda: ["", 0])
    models: dict[str, list[Any]] = field(default_factory=dict)  # model: [count, file, row, how many at it]
    main: dict[str, list[Any]] = field(default_factory=dict)
    projects: dict[str, list[Any]] = field(default_factory=dict)


def _add_place(trackers: dict[str, list[Any]], value: str, place: Position) -> None:
    found = trackers.get(value)
    if found is None:
        trackers[value] = [1, place[0], place[1], 1]
        return
    found[0] += 1
    at = (found[1], found[2])
    if place < at:
        found[1], found[2], found[3] = place[0], place[1], 1
    elif place == at:
        found[3] += 1


def _remove_place(trackers: dict[str, list[Any]], value: str, place: Position) -> bool:
    """Take one out; False when the earliest place is no longer known (look again)."""
    found = trackers[value]
    found[0] -= 1
    if not found[0]:
        del trackers[value]
        return True
    if place == (found[1], found[2]):
        found[3] -= 1
        return bool(found[3] > 0)
    return True


def _ordered(trackers: dict[str, list[Any]]) -> list[str]:
    return [value for value, _found in sorted(trackers.items(), key=lambda item: (item[1][1], item[1][2]))]


@dataclass(frozen=True)
class FileChange:
    """What one read did to a file's rows: ``before`` None for a file not held before, ``after``
    None for a file forgotten; ``reset`` when the file was read again from its start."""

    file: TranscriptFile
    before: Sequence[Response] | None
    after: Sequence[Response] | None
    reset: bool


class RunningTally:
    """Cells and sessions of the responses that count, kept current by :meth:`apply`."""

    def __init__(
        self,
        attribution: Attribution,
        prices: PriceTable,
        tier_of: TierOf,
        cells: dict[CellKey, list[int]] | None = None,
        sessions: dict[str, SessionSums] | None = None,
    ) -> None:
        self.attribution = attribution
        self.prices = prices
        self.tier_of = tier_of
        self.cells: dict[CellKey, list[int]] = {} if cells is None else cells
        self.sessions: dict[str, SessionSums] = {} if sessions is None else sessions
        self._price_of: dict[str, Price | None] = {}
        self._agents: dict[tuple[str, str], str | None] = {}
        self._dirty: set[str] = set()
        self._owners: dict[str, str] = {}  # during a build: the first file of each group
        self._shared: set[str] = set()  # ... and the groups found in another file too

    # -- one response in or out -----------------------------------------------------------------

    def _price(self, model: str) -> Price | None:
        if model in self._price_of:
            return self._price_of[model]
        found = self._price_of[model] = self.prices.lookup(model)
        return found

    def _agent(self, session: str, project: str) -> str | None:
        place = (session, project)
        if place in self._agents:
            return self._agents[place]
        found = self._agents[place] = self.attribution.agent_for(session, project)
        return found

    def _count(self, file: TranscriptFile, response: Response, sign: int, agent: object = _UNKNOWN) -> None:
        session, model, ts = file.session, response[3], response[2]
        if agent is _UNKNOWN:
            agent = self._agent(session, file.project)
        assert agent is None or isinstance(agent, str)
        key = CellKey(
            file.project,
            session,
            agent,
            self.attribution.task_for(agent, session, ts),
            model,
            self.tier_of(model),
            ts[:10],
            subagent_label(file),
        )
        sums = self.cells.get(key)
        if sums is None:
            sums = self.cells[key] = [0] * SUMS
        fresh, output, write_5m, write_1h, read = response[4:9]
        price = self._price_of.get(model, _UNKNOWN)
        if price is _UNKNOWN:
            price = self._price(model)
        at = BASE
        if price is not None:
            assert isinstance(price, Price)
            if response[10] and price.fast is not None:
                at = FAST
            elif price.long_context is not None and fresh + write_5m + write_1h + read > price.long_context_threshold:
                at = LONG
        sums[at] += sign
        sums[at + 1] += sign * fresh
        sums[at + 2] += sign * output
        sums[at + 3] += sign * write_5m
        sums[at + 4] += sign * write_1h
        sums[at + 5] += sign * read
        if sign < 0 and not (sums[BASE] or sums[LONG] or sums[FAST]):
            del self.cells[key]

    def add(self, file: TranscriptFile, place: Position, response: Response) -> None:
        self._count(file, response, 1)
        self._add_to_session(file, place, response)

    def _add_to_session(self, file: TranscriptFile, place: Position, response: Response) -> None:
        ts, model = response[2], response[3]
        sums = self.sessions.get(file.session)
        if sums is None:
            sums = self.sessions[file.session] = SessionSums(first=[ts, 0], last=[ts, 0])
        sums.requests += 1
        first, last = sums.first, sums.last
        if ts < first[0]:
            first[0], first[1] = ts, 1
        elif ts == first[0]:
            first[1] += 1
        if ts > last[0]:
            last[0], last[1] = ts, 1
        elif ts == last[0]:
            last[1] += 1
        _add_place(sums.models, model, place)
        if not file.subagent and not response[9]:
            _add_place(sums.main, model, place)
        _add_place(sums.projects, file.project, place)

    def remove(self, file: TranscriptFile, place: Position, response: Response) -> None:
        self._count(file, response, -1)
        session = file.session
        sums = self.sessions[session]
        sums.requests -= 1
        if not sums.requests:
            del self.sessions[session]
            self._dirty.discard(session)
            return
        known = _remove_place(sums.models, response.model, place)
        if not file.subagent and not response.sidechain:
            known = _remove_place(sums.main, response.model, place) and known
        known = _remove_place(sums.projects, file.project, place) and known
        for bound in (sums.first, sums.last):
            if response.ts == bound[0]:
                bound[1] -= 1
                known = known and bound[1] > 0
        if not known:
            self._dirty.add(session)

    # -- whole reads ----------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        files: Sequence[tuple[TranscriptFile, Sequence[Response]]],
        attribution: Attribution,
        prices: PriceTable,
        tier_of: TierOf,
    ) -> RunningTally:
        """The tally of every row of ``files`` (each file's rows, one per key)."""
        running = cls(attribution, prices, tier_of)
        for file, rows in files:
            running.add_file(file, rows)
        running.finish_files({file.key: (file, rows) for file, rows in files})
        return running

    def add_file(self, file: TranscriptFile, rows: Sequence[Response]) -> None:
        """Count a file's rows (a full build, file by file, as they are read) as if no other file
        shared a group with them; :meth:`finish_files` corrects the groups that turn out shared."""
        key = file.key
        owner, shared = self._owners, self._shared
        for row in rows:
            group = row[0] or "\0" + row[1]
            if owner.setdefault(group, key) != key:
                shared.add(group)
        agent = self._agent(file.session, file.project)
        count, add_to_session = self._count, self._add_to_session
        for place, response in counted(_placed(key, rows)):
            count(file, response, 1, agent)
            add_to_session(file, place, response)

    def finish_files(self, held: Mapping[str, HeldFile]) -> None:
        """After :meth:`add_file` for every file of ``held``: the groups found in more than one
        file counted across them all."""
        shared = self._shared
        if shared:
            everything = [(key, file, rows) for key, (file, rows) in held.items()]
            for place, response in counted_in_groups(shared, everything):
                self.add(held[place[0]][0], place, response)
            for key, file, rows in everything:
                if any(group_of(row) in shared for row in rows):
                    for place, response in counted_in_groups(shared, [(key, file, rows)]):
                        self.remove(file, place, response)
            for session in sorted(self._dirty):
                self._recount_session(session, held)
            self._dirty.clear()
        self._owners, self._shared = {}, set()

    def apply(self, changes: Sequence[FileChange], held: Mapping[str, HeldFile]) -> None:
        """Bring the tally up to date with ``changes``; ``held`` is every file's rows after them."""
        changed: dict[str, FileChange] = {change.file.key: change for change in changes}
        touched: set[str] = set()
        for change in changes:
            before, after = change.before or (), change.after or ()
            if change.reset or change.after is None:
                touched.update(map(group_of, before))
                touched.update(map(group_of, after))
            else:  # an append: rows are added, or replaced by one with more tokens
                touched.update(
                    group_of(row) for index, row in enumerate(after) if index >= len(before) or before[index] != row
                )
        if not touched:
            return
        files = {key: file for key, (file, _rows) in held.items()}
        files.update((key, change.file) for key, change in changed.items())
        old = counted_in_groups(touched, _rows_of(held, changed, before=True))
        new = counted_in_groups(touched, _rows_of(held, changed, before=False))
        gone = set(old) - set(new)
        for place, response in set(new) - set(old):
            self.add(files[place[0]], place, response)
        for place, response in gone:
            self.remove(files[place[0]], place, response)
        for session in sorted(self._dirty):
            self._recount_session(session, held)
        self._dirty.clear()

    def _recount_session(self, session: str, held: Mapping[str, HeldFile]) -> None:
        """A session whose earliest time, model or project was taken out: counted again (its
        cells are right as they are)."""
        groups = {group_of(row) for file, rows in held.values() if file.session == session for row in rows}
        found = counted_in_groups(groups, ((key, file, rows) for key, (file, rows) in held.items()))
        self.sessions.pop(session, None)
        for place, response in found:
            file = held[place[0]][0]
            if file.session == session:
                self._add_to_session(file, place, response)

    # -- reading it -----------------------------------------------------------------------------

    def tally(self) -> Tally:
        cells: list[Cell] = []
        for key in sorted(self.cells, key=_sort_key):
            cells.append(self._cell(key, self.cells[key]))
        sessions: dict[str, SessionInfo] = {}
        for session, sums in self.sessions.items():
            project = _ordered(sums.projects)[0]
            sessions[session] = SessionInfo(
                project,
                self._agent(session, project),
                sums.first[0],
                sums.last[0],
                _ordered(sums.models),
                _ordered(sums.main),
                sums.requests,
            )
        return Tally(cells, sessions)

    def _cell(self, key: CellKey, sums: list[int]) -> Cell:
        cell = Cell(key)
        cell.requests = sums[BASE] + sums[LONG] + sums[FAST]
        cell.input, cell.output, cell.cache_write_5m, cell.cache_write_1h, cell.cache_read = (
            sums[BASE + i] + sums[LONG + i] + sums[FAST + i] for i in range(1, 6)
        )
        price = self._price(key.model)
        if price is None:
            cell.unpriced = cell.requests
            return cell
        cell.long_context = sums[LONG]
        total = 0.0
        for at, rates in ((BASE, price.base), (LONG, price.long_context), (FAST, price.fast)):
            if sums[at] and rates is not None:
                total += _cost(rates, sums, at)
        cell.usd = total
        return cell


def subagent_label(file: TranscriptFile) -> str:
    """What `cost --by subagent` calls a file's usage: ``(main)`` for a session's own transcript, the
    subagent's type for a subagent's, ``(unknown)`` when Claude Code wrote no type for it."""
    if not file.subagent:
        return MAIN
    return file.agent_type or UNKNOWN_TYPE


def _placed(key: str, rows: Sequence[Response]) -> Iterable[Contribution]:
    return (((key, index), row) for index, row in enumerate(rows))


def _cost(rates: Rates, sums: list[int], at: int) -> float:
    return (
        sums[at + 1] * rates.input
        + sums[at + 2] * rates.output
        + sums[at + 3] * rates.cache_write_5m
        + sums[at + 4] * rates.cache_write_1h
        + sums[at + 5] * rates.cache_read
    ) / PER_MILLION


def _sort_key(key: CellKey) -> tuple[str, ...]:
    return tuple("" if part is None else part for part in astuple(key))


def _rows_of(
    held: Mapping[str, HeldFile], changed: Mapping[str, FileChange], *, before: bool
) -> Iterable[tuple[str, TranscriptFile, Sequence[Response]]]:
    """Every file's rows before or after the changes."""
    for key, (file, rows) in held.items():
        if key not in changed:
            yield key, file, rows
    for key, change in changed.items():
        found = change.before if before else change.after
        if found:
            yield key, change.file, found


def counted_in_groups(
    groups: set[str], files: Iterable[tuple[str, TranscriptFile, Sequence[Response]]]
) -> list[Contribution]:
    """The lines that count in ``groups``, found among every file's rows."""
    candidates: dict[str, list[Contribution]] = {}
    for key, _file, rows in files:
        for index, row in enumerate(rows):
            group = row.message_id or "\0" + row.request_id
            if group in groups:
                candidates.setdefault(group, []).append(((key, index), row))
    found: list[Contribution] = []
    for group_rows in candidates.values():
        found += counted_in_group(group_rows)
    return found
