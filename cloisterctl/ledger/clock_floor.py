"""The clock's floor: the last ``ts`` this clone wrote, in ``.cloister/local/last-ts``
(machine-local), so that every writer -- commands, and the hooks' fast writer, which folds nothing
-- dates an event after it, even when the clock steps back.

The floor pushes a time at most ``FLOOR_LEAD`` past the real clock (less than the readers'
``ledger.store.CLOCK_SKEW``, so the event counts at once, and less than what a command refuses to
record): a clock stepped back further than that dates events by itself again. Hooks read and raise
it without a lock (two hooks may share a floor: ties are ordered by id); a command reads it once
and raises it after each append. ``os`` and ``time`` only: every hook imports this (``datetime``
alone would cost a git hook a tenth of its budget).
"""

from __future__ import annotations

import os
import time

FLOOR_FILE = "last-ts"  # under .cloister/local/
FLOOR_LEAD = 600  # seconds


def read_floor(local_dir: str) -> str | None:
    """The last ts this clone wrote, or None (no file, or not a ledger time)."""
    try:
        fd = os.open(os.path.join(local_dir, FLOOR_FILE), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        text = os.read(fd, 64).decode("ascii", "replace").strip()
    except OSError:
        return None
    finally:
        os.close(fd)
    return text if _micros(text) is not None else None


def floored(ts: str, floor: str | None) -> str:
    """``ts``, or one microsecond after ``floor`` when ``ts`` is not later (but never more than
    ``FLOOR_LEAD`` past the real clock)."""
    if floor is None or ts > floor:
        return ts
    after = _micros(floor)
    if after is None:
        return ts
    limit = int((time.time() + FLOOR_LEAD) * 1_000_000)
    return max(ts, _text(min(after + 1, limit)))


def raise_floor(local_dir: str, ts: str) -> None:
    """Make ``ts`` the floor if it is later than the one recorded (atomically, never through a
    symlink: the rename replaces one). Failing to is only a weaker floor: ignored."""
    current = read_floor(local_dir)
    if current is not None and current >= ts:
        return
    path = os.path.join(local_dir, FLOOR_FILE)
    temp = f"{path}.{os.getpid()}.tmp"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        try:
            os.write(fd, ts.encode("ascii") + b"\n")
        finally:
            os.close(fd)
        os.replace(temp, path)
    except OSError:
        try:
            os.unlink(temp)
        except OSError:
            pass


def _micros(text: str) -> int | None:
    """A ledger time (``YYYY-MM-DDTHH:MM:SS.ffffffZ``) as microseconds since the epoch, or None."""
    if len(text) != 27 or text[4] + text[7] + text[10] + text[13] + text[16] + text[19] + text[26] != "--T::.Z":
        return None
    try:
        year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
        hour, minute, second, micro = int(text[11:13]), int(text[14:16]), int(text[17:19]), int(text[20:26])
    except ValueError:
        return None
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 60):
        return None
    # Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    return ((days * 86400 + hour * 3600 + minute * 60 + second) * 1_000_000) + micro


def _text(micros: int) -> str:
    seconds, micro = divmod(micros, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{micro:06d}Z"
