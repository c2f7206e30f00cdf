"""The Claude models cloisterctl routes between: tiers and complexity levels, which tier a model id
belongs to, and the list price of each (data, with its date and source). Stdlib only, no I/O but the
shipped price file.
"""
