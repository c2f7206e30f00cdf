"""What each transcript line used: the usage of an API response, decoded with msgspec.

One API response is written as several lines sharing ``message.id`` + ``requestId``
(``cloisterctl.cost.dedup`` counts each once). Whole lines are decoded, a block of about
``BLOCK_BYTES`` per call, into typed structs that hold only what cost needs (type, timestamp,
isSidechain, isApiErrorMessage, requestId, message.id/model/usage); every other field,
``message.content`` and tool results included, is skipped by the decoder without being built.

A block holding a line the typed decoder rejects (not JSON, or a field of an unexpected type) is
read line by line, and that line again with the standard library, judged by :func:`response_of`,
the reference rules: the typed path only takes lines those rules read the same way, so both paths
count alike. Only a line that mentions a usage is reported as unreadable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec

from cloisterctl.cost.usage import Response
from cloisterctl.errors import MalformedLine
from cloisterctl.ledger.events import normalise_ts
from cloisterctl.ledger.schema import MAX_TOKENS

# Per file, at most this many unreadable lines are reported.
MAX_PROBLEMS_PER_FILE = 20
SYNTHETIC_MODEL = "<synthetic>"

# A count past MAX_TOKENS fails the typed decode, and the reference path names it.
_Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS)]


class _CacheCreation(msgspec.Struct, gc=False):
    ephemeral_5m_input_tokens: _Count | None = None
    ephemeral_1h_input_tokens: _Count | None = None


class _Usage(msgspec.Struct, gc=False):
    input_tokens: _Count
    output_tokens: _Count
    cache_creation_input_tokens: _Count | None = None
    cache_read_input_tokens: _Count | None = None
    cache_creation: _CacheCreation | None = None
    speed: str | None = None


class _Message(msgspec.Struct, gc=False):
    id: str | None = None
    model: str | None = None
    usage: _Usage | None = None


class _Line(msgspec.Struct, gc=False):
    type: str | None = None
    timestamp: str | None = None
    isSidechain: bool | None = None  # noqa: N815 (the transcript's own names)
    isApiErrorMessage: bool | None = None  # noqa: N815
    requestId: str | None = None  # noqa: N815
    message: _Message | None = None


_DECODER = msgspec.json.Decoder(_Line)
_USAGE = b'"usage":'


def _timestamp(text: str) -> str:
    if len(text) == 24 and text[23] == "Z" and text[19] == ".":  # as Claude Code writes it
        return text[:23] + "000Z"
    return normalise_ts(text)


_new_tuple = tuple.__new__


def _line_response(line: _Line, offset: int) -> Response | None:
    """:func:`response_of` for a line the typed decoder took (its types are already checked).
    Runs for every response line of every transcript, hence the inlining."""
    if line.type != "assistant":
        return None
    message = line.message
    if message is None:
        return None
    usage = message.usage
    if usage is None:
        return None
    model = message.model
    if model == SYNTHETIC_MODEL or line.isApiErrorMessage is True:
        return None
    if not model:
        raise MalformedLine("message.model is missing")
    ts = line.timestamp
    if ts is None:
        raise MalformedLine("timestamp is missing")
    written = usage.cache_creation
    write_1h = 0
    if written is not None:
        # The split by TTL is the authority when present; its sum is the cache-write total.
        write_5m = written.ephemeral_5m_input_tokens or 0
        write_1h = written.ephemeral_1h_input_tokens or 0
        if not (write_5m or write_1h):
            write_5m = usage.cache_creation_input_tokens or 0
    else:
        write_5m = usage.cache_creation_input_tokens or 0
    message_id, request_id = message.id, line.requestId
    if not message_id:
        # Without an id a line cannot be matched with its siblings: it counts on its own.
        message_id, request_id = "", f"@{offset}"
    if len(ts) == 24 and ts[23] == "Z" and ts[19] == ".":  # as Claude Code writes it
        ts = ts[:23] + "000Z"
    else:
        ts = normalise_ts(ts)
    return _new_tuple(
        Response,
        (
            message_id,
            request_id or "",
            ts,
            model,
            usage.input_tokens,
            usage.output_tokens,
            write_5m,
            write_1h,
            usage.cache_read_input_tokens or 0,
            line.isSidechain is True,
            usage.speed == "fast",
        ),
    )


_COUNT_KEYS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def _is_count(value: Any) -> bool:
    return value.__class__ is int and value >= 0


def response_of(obj: Any, offset: int) -> Response | None:
    """The usage of one transcript line parsed with ``json``, or None when the line is not a
    billable response (not an assistant message, ``<synthetic>``, an API error). Raises
    MalformedLine for a broken one. ``offset`` (where the line starts in its file) identifies a
    response that has no id. The reference rules, for lines the typed decoder rejects."""
    if obj.__class__ is not dict or obj.get("type") != "assistant":
        return None
    message = obj.get("message")
    usage = message.get("usage") if message.__class__ is dict else None
    if usage.__class__ is not dict:
        return None
    assert isinstance(message, dict) and isinstance(usage, dict)
    model = message.get("model")
    if model == SYNTHETIC_MODEL or obj.get("isApiErrorMessage") is True:
        return None
    if model.__class__ is not str or not model:
        raise MalformedLine("message.model is missing")
    timestamp = obj.get("timestamp")
    if timestamp.__class__ is not str:
        raise MalformedLine("timestamp is missing")
    get = usage.get
    written = get("cache_creation")
    write_1h: Any = 0
    if written.__class__ is dict:
        write_5m: Any = written.get("ephemeral_5m_input_tokens") or 0
        write_1h = written.get("ephemeral_1h_input_tokens") or 0
        if not (write_5m or write_1h):
            write_5m = get("cache_creation_input_tokens") or 0
    else:
        write_5m = get("cache_creation_input_tokens") or 0
    counts: tuple[Any, ...] = (
        get("input_tokens"),
        get("output_tokens"),
        write_5m,
        write_1h,
        get("cache_read_input_tokens") or 0,
    )
    if not all(map(_is_count, counts)):
        bad = next((key for key in _COUNT_KEYS if not (get(key) is None or type(get(key)) is int)), "cache_creation")
        raise MalformedLine(f"message.usage.{bad} is not a token count")
    if max(counts) > MAX_TOKENS:
        raise MalformedLine("message.usage has a token count past 10^12, which no request has")
    message_id, request_id = message.get("id"), obj.get("requestId")
    if message_id.__class__ is not str or not message_id:
        message_id, request_id = "", f"@{offset}"
    fresh, output, write_5m, write_1h, read = counts
    return Response(
        message_id,
        request_id if request_id.__class__ is str else "",
        _timestamp(timestamp),
        model,
        fresh,
        output,
        write_5m,
        write_1h,
        read,
        obj.get("isSidechain") is True,
        get("speed") == "fast",
    )


@dataclass
class Chunk:
    """What one read of a file found."""

    responses: list[Response] = field(default_factory=list)
    bad_lines: list[tuple[int, str]] = field(default_factory=list)  # (where the line starts in data, what)
    problems: list[str] = field(default_factory=list)  # "line N: what", once numbered


def _reference(raw: bytes, offset: int) -> Response | None:
    """A line the typed decoder rejected, read with ``json`` and judged by :func:`response_of`."""
    if _USAGE not in raw:
        return None  # not JSON, or an unexpected shape, and no usage in it: nothing to count
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError included; RecursionError: deep nesting
        raise ValueError("not valid JSON") from None
    return response_of(obj, offset)


def parse_line(raw: bytes, offset: int) -> Response | None:
    """One line (without its newline): its response, or None. Raises ValueError (MalformedLine
    included) for a line that mentions a usage but cannot be read; other unreadable lines are None."""
    try:
        line = _DECODER.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return _reference(raw, offset)
    return _line_response(line, offset)


def _parse_each(data: bytes, position: int, end: int, base_offset: int, chunk: Chunk) -> None:
    """The slow path: line by line, noting where each starts (for id-less lines and problems)."""
    view = memoryview(data)
    find, decode = data.find, _DECODER.decode
    append = chunk.responses.append
    while position < end:
        stop = find(b"\n", position, end)
        if stop < 0:
            stop = end
        if stop > position:
            try:
                try:
                    line = decode(view[position:stop])
                except (msgspec.DecodeError, RecursionError):
                    response = _reference(data[position:stop], base_offset + position)
                else:
                    response = _line_response(line, base_offset + position)
            except ValueError as exc:
                if len(chunk.bad_lines) < MAX_PROBLEMS_PER_FILE:
                    what = str(exc) if isinstance(exc, MalformedLine) else "not valid JSON"
                    chunk.bad_lines.append((position, what))
            else:
                if response is not None:
                    append(response)
        position = stop + 1


def _parse_block(block: memoryview, responses: list[Response]) -> bool:
    """The fast path: every line of ``block`` decoded in one call. False (and nothing added) when
    a line is not JSON or has an unexpected shape, or a response has no id (its key is where its
    line starts): the block is then read line by line."""
    try:
        lines = _DECODER.decode_lines(block)
    except (msgspec.DecodeError, RecursionError):
        return False
    had = len(responses)
    append = responses.append
    try:
        for line in lines:
            message = line.message
            if line.type == "assistant" and message is not None and message.usage is not None:
                if not message.id:
                    raise LookupError
                response = _line_response(line, 0)
                if response is not None:
                    append(response)
    except (ValueError, LookupError):  # MalformedLine: reported with where its line starts
        del responses[had:]
        return False
    return True


# Lines are decoded in blocks of about this many bytes: a broken line sends only its own block
# down the slow path, and a block fits in the CPU's caches.
BLOCK_BYTES = 1 << 16


def parse_lines(data: bytes, base_offset: int = 0, end: int | None = None) -> Chunk:
    """Every response in ``data[:end]`` (whole lines), in line order. ``base_offset`` is where
    ``data`` starts in its file."""
    chunk = Chunk()
    end = len(data) if end is None else end
    view, find, start = memoryview(data), data.find, 0
    while start < end:
        stop = find(b"\n", min(start + BLOCK_BYTES, end - 1), end) + 1 or end
        if not _parse_block(view[start:stop], chunk.responses):
            _parse_each(data, start, stop, base_offset, chunk)
        start = stop
    return chunk
