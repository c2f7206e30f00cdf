"""Claude Code transcripts: where they are (``locate``), what each line used (``parse``), and
reading them incrementally into the machine-local cache (``ingest``)."""
