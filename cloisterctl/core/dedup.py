"""Counting every API response once, across the lines and files that repeat it. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cloisterctl.model.usage import Response, TranscriptFile


def merge_responses(into: dict[tuple[str, str], Response], responses: Iterable[Response]) -> None:
    """Add responses to ``into`` keyed by (message id, request id), keeping the line with the most
    tokens (the first of equals): a response's first line may be a streaming snapshot."""
    for response in responses:
        key = (response.message_id, response.request_id)
        current = into.get(key)
        if current is None or response.tokens > current.tokens:
            into[key] = response


def deduplicate(files: Sequence[tuple[TranscriptFile, Sequence[Response]]]) -> list[tuple[TranscriptFile, Response]]:
    """Count every API response once across files given in path order.

    Lines sharing (message id, request id) are one response; the one with the most tokens is kept,
    the first file (by path) winning ties. A sidechain line replays a parent message under a new
    request id: it is dropped when a non-sidechain response has the same message id, and among
    sidechain-only copies of one message the largest is kept. The result does not depend on the
    order lines were read in, and is in file and line order."""
    best: dict[tuple[str, str], tuple[int, int]] = {}
    sidechains = False
    for file_index, (_file, responses) in enumerate(files):
        for row_index, response in enumerate(responses):
            key = (response.message_id, response.request_id)
            place = best.get(key)
            if place is None:
                best[key] = (file_index, row_index)
            elif response.tokens > files[place[0]][1][place[1]].tokens:  # rare: a copy in another file
                best[key] = (file_index, row_index)
            sidechains = sidechains or response.sidechain
    dropped: set[tuple[int, int]] = set()
    if sidechains:
        main_messages: set[str] = set()
        sidechain_best: dict[str, tuple[int, int]] = {}
        for (message_id, _request), (f, r) in best.items():
            if not message_id:
                continue
            response = files[f][1][r]
            if not response.sidechain:
                main_messages.add(message_id)
                continue
            current = sidechain_best.get(message_id)
            if current is None:
                sidechain_best[message_id] = (f, r)
            else:
                other = files[current[0]][1][current[1]]
                if (response.tokens, -f, -r) > (other.tokens, -current[0], -current[1]):
                    dropped.add(current)
                    sidechain_best[message_id] = (f, r)
                else:
                    dropped.add((f, r))
        for message_id, place in sidechain_best.items():
            if message_id in main_messages:
                dropped.add(place)
    kept: list[tuple[TranscriptFile, Response]] = []
    for file_index, (file, responses) in enumerate(files):
        for row_index, response in enumerate(responses):
            place = (file_index, row_index)
            if best[(response.message_id, response.request_id)] == place and place not in dropped:
                kept.append((file, response))
    return kept
