"""The current time, in one place. ``CLOISTER_NOW`` (ISO 8601) pins it, for replaying a scenario."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from cloisterctl.errors import CloisterError


def now() -> datetime:
    pinned = os.environ.get("CLOISTER_NOW")
    if pinned:
        try:
            moment = datetime.fromisoformat(pinned.replace("Z", "+00:00"))
        except ValueError:
            raise CloisterError(f"CLOISTER_NOW={pinned!r} is not an ISO 8601 time") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.now(UTC)
