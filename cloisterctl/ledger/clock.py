"""The current time, in one place.

``CLOISTER_NOW`` (ISO 8601) pins it for looking only: `tick --dry-run`, `status` and `route` say
what would be decided at that time. A command that records something refuses to run under a
pinned clock (``require_real``): pinned timestamps in the committed ledger would repeat, or sort
after every real event for good. Tests that need another time give a ``Context`` their own clock;
the context makes whatever clock it has strictly increasing (``ledger.context``), and the ledger
never gets an event dated past the real clock plus ``ledger.store.CLOCK_SKEW``.

The floor: every writer of this clone -- commands, and the hooks' fast writer, which folds nothing
-- dates an event after the last one this clone wrote (``.cloister/local/last-ts``, machine-local),
so a clock stepped back does not date the next event before the last. The floor pushes a time at
most ``FLOOR_LEAD`` past the real clock (less than the readers' ``CLOCK_SKEW``, so the event counts
at once): a clock stepped back further than that dates events by itself again (a warning's worth,
not a refusal to record). Hooks read and raise it without a lock (two hooks may share a floor: ties
are ordered by id); commands, under the ledger lock. Stdlib and ``os`` only: hooks import this.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from cloisterctl.errors import CloisterError

PIN_ENV = "CLOISTER_NOW"
FLOOR_FILE = "last-ts"  # under .cloister/local/
FLOOR_LEAD = timedelta(minutes=10)
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def pinned() -> datetime | None:
    """The time ``CLOISTER_NOW`` pins, or None."""
    text = os.environ.get(PIN_ENV)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CloisterError(f"{PIN_ENV}={text!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def now() -> datetime:
    found = pinned()
    return found if found is not None else datetime.now(UTC)


def require_real(what: str) -> None:
    """Refuse to record anything while the clock is pinned."""
    if os.environ.get(PIN_ENV):
        raise CloisterError(
            f"{PIN_ENV} is set: a pinned clock is for looking (`tick --dry-run`, `status`), and {what} would "
            f"record events dated {os.environ[PIN_ENV]}; unset {PIN_ENV} to record anything"
        )


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
    return text if _parsed(text) is not None else None


def _parsed(text: str) -> datetime | None:
    """A ledger time (``...SS.ffffffZ``) as a datetime; ``fromisoformat``, not ``strptime``, whose
    first call imports more than a hook may spend."""
    if len(text) != 27 or text[-1] != "Z":
        return None
    try:
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    except ValueError:
        return None


def floored(ts: str, floor: str | None) -> str:
    """``ts``, or one microsecond after ``floor`` when ``ts`` is not later (but never more than
    ``FLOOR_LEAD`` past the real clock)."""
    if floor is None or ts > floor:
        return ts
    moment = _parsed(floor)
    if moment is None:
        return ts
    after = moment + timedelta(microseconds=1)
    limit = datetime.now(UTC) + FLOOR_LEAD
    return max(ts, min(after, limit).strftime(_TS_FORMAT))


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
