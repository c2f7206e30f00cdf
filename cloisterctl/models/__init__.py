"""The Claude models cloisterctl routes between: tiers and complexity levels, which tier a model id
belongs to, and the list price of each (data, with its date and source); and the one rule for what
may be a name (``names``: ids that reach file names, tmux, commits and argv). Stdlib only, no I/O
but the shipped price file.
"""
