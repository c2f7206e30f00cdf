"""Tasks: beads issues as records, the task graph (blocked, ready, trees), the beads adapter (`bd`
or `.beads/issues.jsonl`), and noticing status changes hooks missed.
"""
