"""`cloisterctl tick`: one pass over a workspace (or all of them) with no resident process, and when
it last ran.
"""
