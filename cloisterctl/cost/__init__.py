"""Cost: token usage read from Claude Code transcripts and `claude -p` results, priced per model,
attributed to agents, tasks and tiers, tallied into cells, cached per machine, and reported (tables,
the dashboard). Pure rules (``usage``, ``dedup``, ``attribution``, ``tally``, ``running_tally``,
``reports``) are apart from the I/O (``transcripts``, ``usage_cache``, ``collect``, ``dashboard``).
"""
