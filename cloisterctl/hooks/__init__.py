"""Entry points for git hooks (through pre-commit), beads hooks and agent (Claude Code) hooks.

All of them are reached as `cloisterctl hook ...`, dispatched in ``cloisterctl.__main__`` without
importing click; see ``fast.py``.
"""
