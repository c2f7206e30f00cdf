"""Test runs: telling one from an agent's command, running a test command without a shell, and
recording its outcome in the ledger.
"""
