"""The repo's own files: workspace paths, the ledger, the folded-state cache, STATE.md front matter,
machine-local caches, atomic writes and locks.
"""
