"""A workspace: a git work tree holding STATE.md and .cloister/. Where its files are (``layout``),
every git call (``git``), which workspaces `--all` covers (``covered``), and trusting its config
(``trust``).
"""
