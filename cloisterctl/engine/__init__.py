"""Composition: one context (workspace, config, clock, runtime, the tick lock) and the operations
built on it: tick, handoffs, decisions, agents, routing, cost. Every command that can start or
advance a handoff goes through ``context.Context``.
"""
