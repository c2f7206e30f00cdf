"""`cloisterctl doctor`: what the world looks like (``probe``), gathered per workspace (``gather``),
judged into verdicts with their fixes (``verdicts``, pure).
"""
