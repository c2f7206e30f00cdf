"""The built-in demo, and the stand-in agent it (and the tests) run in place of Claude Code."""
