"""The current time, in one place.

``CLOISTER_NOW`` (ISO 8601) pins it for looking only: `tick --dry-run`, `status` and `route` say
what would be decided at that time. A command that records something refuses to run under a
pinned clock (``require_real``): pinned timestamps in the committed ledger would repeat, or sort
after every real event for good. Tests that need another time give a ``Context`` their own clock;
the context makes whatever clock it has strictly increasing (``ledger.context``), and the ledger
never gets an event dated past the real clock plus ``ledger.store.CLOCK_SKEW``.

The floor (``ledger.clock_floor``): every writer of this clone, hooks included, dates an event
after the last one this clone wrote, so a clock stepped back does not date the next event before
the last.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from cloisterctl.errors import CloisterError

PIN_ENV = "CLOISTER_NOW"


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
