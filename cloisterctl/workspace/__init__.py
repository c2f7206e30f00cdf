"""A workspace: a git work tree holding STATE.md and .cloister/. Where its files are (``layout``,
``paths``), every git call (``git``), which workspaces `--all` covers (``covered``), and trusting its
config (``trust``).
"""
