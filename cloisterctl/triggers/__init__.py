"""Triggers: the rules that propose decisions (stuck, failing tests, planning done, budgets, bleed),
the guards on them, and recording and applying decisions and flags.
"""
