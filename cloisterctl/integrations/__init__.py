"""What cloisterctl installs into other tools: git hooks and the STATE.md merge driver, beads hooks,
Claude Code hooks, its statusline and subagent definitions, and the cron/systemd schedule.
"""
