"""Counting every API response once, across the lines and files that repeat it. Pure.

The rule works per *group*: the lines of one message id (or, for a line without a message id, of
its own key). Whether a line counts depends only on the other lines of its group, so a change to
a few lines is settled by looking again at their groups alone (``cloisterctl.cost.running_tally``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from cloisterctl.cost.usage import Response

# Where a candidate line is: (file, row), compared in file-path order then row order.
P = TypeVar("P")


def merge_responses(into: dict[tuple[str, str], Response], responses: Iterable[Response]) -> None:
    """Add responses to ``into`` keyed by (message id, request id), keeping the line with the most
    tokens (the first of equals): a response's first line may be a streaming snapshot."""
    get = into.get
    for response in responses:
        key = (response[0], response[1])
        current = get(key)
        if current is None or sum(response[4:9]) > sum(current[4:9]):  # tokens, inlined
            into[key] = response


def group_of(response: Response) -> str:
    """The group a line is judged in: its message id, or its own key when it has none."""
    return response.message_id or "\0" + response.request_id


def _better(a: tuple[Any, Response], b: tuple[Any, Response]) -> bool:
    """Whether ``a`` beats ``b``: more tokens, then the earlier place."""
    tokens_a, tokens_b = a[1].tokens, b[1].tokens
    return tokens_a > tokens_b or (tokens_a == tokens_b and a[0] < b[0])


def counted_in_group(candidates: Sequence[tuple[P, Response]]) -> list[tuple[P, Response]]:
    """The lines that count among every line of one group (each with its place).

    Lines sharing (message id, request id) are one response: the one with the most tokens counts,
    the earliest place winning ties. A sidechain line replays a parent message under a new request
    id: when any response of the message is not a sidechain, the sidechain ones are dropped;
    otherwise only the largest sidechain one counts."""
    best: dict[str, tuple[P, Response]] = {}
    for candidate in candidates:
        request = candidate[1].request_id
        current = best.get(request)
        if current is None or _better(candidate, current):
            best[request] = candidate
    winners = list(best.values())
    if len(winners) == 1 or not winners[0][1].message_id:
        return winners
    main = [winner for winner in winners if not winner[1].sidechain]
    if main:
        return main
    top = winners[0]
    for winner in winners[1:]:
        if _better(winner, top):
            top = winner
    return [top]


def counted(rows: Iterable[tuple[P, Response]]) -> list[tuple[P, Response]]:
    """The lines that count among ``rows`` (each with its place), group by group, in no order."""
    groups: dict[str, Any] = {}
    for row in rows:
        response = row[1]
        group = response.message_id or "\0" + response.request_id
        current = groups.get(group)
        if current is None:
            groups[group] = row
        elif current.__class__ is list:
            current.append(row)
        else:
            groups[group] = [current, row]
    found: list[tuple[P, Response]] = []
    for value in groups.values():
        if value.__class__ is list:
            found += counted_in_group(value)
        else:
            found.append(value)  # alone in its group: it counts
    return found
