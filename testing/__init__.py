"""Shared test helpers (modelled on pre-commit's ``testing/``): paths, a git runner, the CLI
invoked in-process, stand-in agent configs (``helpers``), and the pytest fixtures (``fixtures``).

Test modules import from here, never from each other.
"""
