"""Files, whatever they hold: atomic writes, locks, append-only logs, bounded YAML reading, memos
of command output, and the files shipped with cloisterctl. Knows nothing of workspaces or events.
"""
