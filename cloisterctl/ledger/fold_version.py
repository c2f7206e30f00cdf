"""The version of a folded state kept on disk (the fold cache, ``ledger.store``, and the committed
checkpoints, ``ledger.checkpoints``): the digest of the source of the modules that decide what
the state holds (``files.codedigest``). A cache or checkpoint of another digest is refolded, never
trusted; none is ever bumped by hand.

``FOLD_MODULES`` are the state and its records, the reducers and everything the fold calls, and
what decides which lines of the ledger are events at all (the segment reader and the event
schema, and the safe-name check it uses): every module ``ledger.fold`` and ``ledger.segments``
import, inside this package (``tests/ledger/test_cache_versions.py`` holds that). Left out: the modules that only keep a
state (``store``, ``checkpoints``: their own records are checked by shape when decoded, and a
change in how a cache is kept must not throw away every committed checkpoint), and
``cloisterctl.errors`` (exception classes: no data).
"""

from __future__ import annotations

from cloisterctl.files.codedigest import source_digest

FOLD_MODULES = (
    "cloisterctl.ledger.agent_state",
    "cloisterctl.ledger.attempts",
    "cloisterctl.ledger.decisions",
    "cloisterctl.ledger.events",
    "cloisterctl.ledger.fold",
    "cloisterctl.ledger.reducers",
    "cloisterctl.ledger.schema",
    "cloisterctl.ledger.segments",
    "cloisterctl.ledger.spending",
    "cloisterctl.ledger.state",
    "cloisterctl.models.names",  # the safe-name check the schema makes of every id
)


def fold_version() -> str:
    """The digest of ``FOLD_MODULES`` (read once per process, when a cache is first read or written)."""
    return source_digest(*FOLD_MODULES)
