"""Triggers: one registered spec per trigger (``specs``) with the rule that proposes its decisions
(stuck, failing tests, planning done, budgets, bleed), their causes, the guards on them, and
recording and applying decisions and flags.
"""
