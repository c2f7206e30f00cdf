"""Files, whatever they hold: atomic writes, locks, append-only logs, bounded YAML reading, memos
of command output, digests of source files (the versions of caches), and the files shipped with
cloisterctl. Knows nothing of workspaces or events.
"""
