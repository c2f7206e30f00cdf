"""What each transcript line used: the usage of an API response, read fast from raw bytes.

One API response is written as several lines sharing ``message.id`` + ``requestId``
(``cloisterctl.core.dedup`` counts each once). Only lines carrying ``"usage":`` are parsed, and in
the shape Claude Code writes, without their ``message.content``.
"""

from __future__ import annotations

import json
import json.scanner
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cloisterctl.errors import MalformedLine
from cloisterctl.model.event_schema import MAX_TOKENS
from cloisterctl.model.events import normalise_ts
from cloisterctl.model.usage import Response

# Per file, at most this many unreadable lines are reported.
MAX_PROBLEMS_PER_FILE = 20
SYNTHETIC_MODEL = "<synthetic>"


# The C scanner itself: json.loads adds a Python-level layer that costs more than the parse here.
_SCAN: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


_USAGE = b'"usage":'  # compact or not; a colon ends the needle, which makes the search faster


_MESSAGE = b'"message":{'


_CONTENT = b'"content":['


_STOP = b'],"stop_reason"'


_USER = b'"type":"user"'


def _loads(raw: bytes) -> Any:
    text = raw.decode("utf-8")
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        raise ValueError("no JSON value") from None
    if end != len(text) and text[end:].strip():
        raise ValueError("extra data after the JSON value")
    return value


def _with_head(data: bytes, start: int, message: int, tail: dict[str, Any]) -> Any:
    """``tail`` (the line from ``"message"`` on) completed with the top-level keys written before
    ``"message"``; None when that part does not parse."""
    try:
        head = _loads(data[start:message] + b'"_":0}')
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(head, dict):
        return None
    head.update(tail)
    return head


_COUNT_KEYS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def response_of(obj: Any, offset: int) -> Response | None:
    """The usage of one parsed transcript line, or None when the line is not a billable response
    (not an assistant message, ``<synthetic>``, an API error). Raises MalformedLine for a broken one.
    ``offset`` (where the line starts in its file) identifies a response that has no id.

    Written for speed: it runs for every response line of every transcript."""
    if obj.__class__ is not dict:
        return None
    top = obj.get
    if top("type") != "assistant":
        return None
    message = top("message")
    if message.__class__ is not dict:
        return None
    usage = message.get("usage")
    if usage.__class__ is not dict:
        return None
    model = message.get("model")
    if model == SYNTHETIC_MODEL or top("isApiErrorMessage") is True:
        return None
    if model.__class__ is not str or not model:
        raise MalformedLine("message.model is missing")
    timestamp = top("timestamp")
    if timestamp.__class__ is not str:
        raise MalformedLine("timestamp is missing")
    get = usage.get
    fresh, output, read = get("input_tokens"), get("output_tokens"), get("cache_read_input_tokens") or 0
    written = get("cache_creation")
    write_1h: Any = 0
    if written.__class__ is dict:
        # The split by TTL is the authority when present; its sum is the cache-write total.
        write_5m: Any = written.get("ephemeral_5m_input_tokens") or 0
        write_1h = written.get("ephemeral_1h_input_tokens") or 0
        if not (write_5m or write_1h):
            write_5m = get("cache_creation_input_tokens") or 0
    else:
        write_5m = get("cache_creation_input_tokens") or 0
    if not (
        fresh.__class__ is int
        and output.__class__ is int
        and read.__class__ is int
        and write_5m.__class__ is int
        and write_1h.__class__ is int
        and fresh >= 0
        and output >= 0
        and read >= 0
        and write_5m >= 0
        and write_1h >= 0
    ):
        bad = next((key for key in _COUNT_KEYS if not (get(key) is None or type(get(key)) is int)), "cache_creation")
        raise MalformedLine(f"message.usage.{bad} is not a token count")
    if max(fresh, output, read, write_5m, write_1h) > MAX_TOKENS:
        raise MalformedLine("message.usage has a token count past 10^12, which no request has")
    message_id = message.get("id")
    request_id = top("requestId")
    if message_id.__class__ is not str or not message_id:
        # Without an id a line cannot be matched with its siblings: it counts on its own.
        message_id, request_id = "", f"@{offset}"
    if len(timestamp) == 24 and timestamp[23] == "Z" and timestamp[19] == ".":  # as Claude Code writes it
        timestamp = timestamp[:23] + "000Z"
    else:
        timestamp = normalise_ts(timestamp)
    return Response(
        message_id,
        request_id if request_id.__class__ is str else "",
        timestamp,
        model,
        fresh,
        output,
        write_5m,
        write_1h,
        read,
        top("isSidechain") is True,
        get("speed") == "fast",
    )


@dataclass
class Chunk:
    """What one read of a file found."""

    responses: list[Response] = field(default_factory=list)
    bad_lines: list[tuple[int, str]] = field(default_factory=list)  # (where the line starts in data, what)
    problems: list[str] = field(default_factory=list)  # "line N: what", once numbered


def parse_lines(data: bytes, base_offset: int = 0, end: int | None = None) -> Chunk:
    """Every response in ``data`` (whole lines). Only lines containing ``"usage":`` are parsed:
    tool-result lines, most of a transcript's bytes, are skipped with a byte search.

    ``base_offset`` is where ``data`` starts in its file; ``end`` stops the scan early. This is the
    hot loop of a scan, hence the inlining."""
    chunk = Chunk()
    responses = chunk.responses
    find, rfind, scan = data.find, data.rfind, _SCAN
    end = len(data) if end is None else end
    position = 0
    while True:
        hit = find(_USAGE, position, end)
        if hit < 0:
            break
        start = rfind(b"\n", 0, hit) + 1
        stop = find(b"\n", hit, end)
        if stop < 0:
            stop = end
        position = stop + 1
        obj: Any = None
        message = find(_MESSAGE, start, stop)
        if message >= 0:
            if find(_USER, start, message) >= 0:
                continue  # a user line (a subagent's tool result carries a usage of its own)
            # In the shape Claude Code writes, skip parsing message.content: it is most of an
            # assistant line and holds no usage. Anything unexpected parses the whole line.
            content = find(_CONTENT, message, stop)
            close = rfind(_STOP, content, stop) if content >= 0 else -1
            if close >= 0:
                try:
                    text = (b"{" + data[message : content + len(_CONTENT)] + data[close:stop]).decode()
                    obj, used = scan(text, 0)
                    if used != len(text):
                        obj = None
                except (ValueError, StopIteration, UnicodeDecodeError, RecursionError):
                    obj = None
                if obj is not None:
                    if "timestamp" in obj and "type" in obj:
                        head = data[start:message]
                        if b'"isSidechain":true' in head:
                            obj["isSidechain"] = True
                        if b'"isApiErrorMessage":true' in head:
                            obj["isApiErrorMessage"] = True
                    else:  # the top-level keys come before "message" in this line
                        obj = _with_head(data, start, message, obj)
        try:
            if obj is None:
                obj = _loads(data[start:stop])
            response = response_of(obj, base_offset + start)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            if len(chunk.bad_lines) < MAX_PROBLEMS_PER_FILE:
                chunk.bad_lines.append((start, str(exc) if isinstance(exc, MalformedLine) else "not valid JSON"))
            continue
        if response is not None:
            responses.append(response)
    return chunk
