"""Entry points for git hooks (through pre-commit), beads hooks and agent (Claude Code) hooks.

All of them are reached as `cloisterctl hook ...`, dispatched by ``dispatch.run`` from
``cloisterctl.__main__`` without importing click; they share ``record`` (find the workspace, append
one event line) and nothing else.
"""
