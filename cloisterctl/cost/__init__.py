"""Cost: token usage read from Claude Code transcripts and `claude -p` results, priced per model,
attributed to agents, tasks and tiers, tallied into cells, cached per machine, and reported (tables,
the dashboard). Pure rules (``usage``, ``dedup``, ``attribution``, ``tally``, ``running_tally``,
``reports``) are apart from the I/O (``transcripts``, ``usage_cache``, ``collect``, ``dashboard``).

A new cost attribute is a field of ``CellKey`` (set where cells are made: ``RunningTally._count``
and ``tally.usage_cells``) and an entry of ``groupings.GROUPINGS``; `cost --by` offers what that
list names, and the usage cache stores keys by field name (one of other fields is rebuilt).

The records, one line each:

- ``usage.Response``: one API response read from a transcript line (ids, time, model, tokens).
- ``usage.TranscriptFile``: a transcript file, its project dir and session, and subagent type.
- ``usage.FileMark``: how far a transcript file has been read, and what it looked like then.
- ``tally.CellKey``: what a cell is: every attribute a report groups by (one field per grouping).
- ``tally.Cell``: a ``CellKey`` and the summed tokens, requests and USD of its responses.
- ``tally.SessionInfo``: a session as its responses show it (first, last, models, switches).
- ``tally.Tally``: a scope's cells and sessions, with what reading its transcripts found.
- ``running_tally.RunningTally``: the tally kept current one read at a time (cached per scope).
- ``running_tally.SessionSums``: the exact counters a ``SessionInfo`` is made from.
- ``running_tally.FileChange``: what one read did to one file's rows.
- ``groupings.Grouping``: what a row of `cost --by NAME` is; ``GROUPINGS`` lists them all.
- ``reports.CostData``: what a report, the dashboard or a refresh reads: the tally, the usage
  events' cells, the scope and the period.
- ``collect.CostReport``: the JSON of `cloisterctl cost` with the stamp of what it was read from.
- ``attribution.Attribution``: who and what a response is for, from the ledger.
- ``usage_cache.UsageStore`` / ``FileEntry``: the transcript cache on disk, and a file's entry in it.
- ``transcripts.ingest.Ingested``: what an incremental read found and changed.
- ``transcripts.claude_result.ClaudeResult`` / ``ModelUse``: a `claude -p` result, per model.

Token counts that no transcript shows (``usage`` events) are ``models.prices.Tokens``.
"""
