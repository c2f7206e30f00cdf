"""Agents by hand: spawn, stop, hand off and list them, and the status view of a workspace."""
