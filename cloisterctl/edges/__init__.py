"""The outside world: beads, git, tmux, Claude Code transcripts and results, schedule files,
installed hooks, test commands, and the files shipped with cloisterctl.
"""
