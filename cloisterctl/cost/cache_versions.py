"""The versions of what cost keeps between runs: digests of the source of the code that shapes each
(``files.codedigest``), so that a cache made by other code is rebuilt and none is bumped by hand.

- the transcript cache's manifest and rows (``cost.usage_cache``): ``ROW_MODULES``, what a row (a
  response read from a transcript) and a file's mark mean: the records, the line parser and what
  it checks against, how one file's rows are merged, how a file is read, and the cache's records;
- its running tally (``tally.json``): ``TALLY_MODULES``, what the cells and per-session sums mean:
  attribution, dedup, the tally and its running form, prices and tiers, and the file's records.
  (The data they are computed on, the attribution and the prices, is in the tally's ``basis``.)
- the memo of a cost refresh (``cost.collect``): both, the fold and the STATE.md cost block it
  holds, and the package version for the price table shipped with it (data, not code).

``tests/cost/test_cache_versions.py`` holds that each list covers what its modules import.
Only imports ``files.codedigest``: the refresh memo is checked before the transcript reader loads.
"""

from __future__ import annotations

from cloisterctl import __version__
from cloisterctl.files.codedigest import source_digest
from cloisterctl.ledger.fold_version import FOLD_MODULES

ROW_MODULES = (
    "cloisterctl.cost.dedup",
    "cloisterctl.cost.transcripts.ingest",
    "cloisterctl.cost.transcripts.parse",
    "cloisterctl.cost.usage",
    "cloisterctl.cost.usage_cache",
    "cloisterctl.ledger.events",
    "cloisterctl.ledger.schema",
    "cloisterctl.models.names",  # the schema's check of ids
)
TALLY_MODULES = (
    "cloisterctl.cost.attribution",
    "cloisterctl.cost.dedup",
    "cloisterctl.cost.running_tally",
    "cloisterctl.cost.tally",
    "cloisterctl.cost.usage",
    "cloisterctl.cost.usage_cache",
    "cloisterctl.models.names",  # which session ids name a transcript (cost.transcripts.locate)
    "cloisterctl.models.prices",
    "cloisterctl.models.tiers",
)
REFRESH_MODULES = (
    *ROW_MODULES,
    *TALLY_MODULES,
    *FOLD_MODULES,
    "cloisterctl.cost.collect",
    "cloisterctl.ledger.projection",
)


def rows_version() -> str:
    return source_digest(*ROW_MODULES)


def tally_version() -> str:
    return source_digest(*TALLY_MODULES)


def refresh_key() -> str:
    """The key of the refresh memo (``files.memo``)."""
    return f"refresh {__version__} {source_digest(*REFRESH_MODULES)}"
