"""What modules of cloisterctl import, read from their source (``grimp``, the graph import-linter
checks): for tests that a list of modules covers everything some code depends on."""

from __future__ import annotations

import functools

import grimp


@functools.cache
def _graph() -> grimp.ImportGraph:
    return grimp.build_graph("cloisterctl", exclude_type_checking_imports=True, cache_dir=None)


def imported(*roots: str, within: tuple[str, ...]) -> set[str]:
    """``roots`` and every module they import, directly or through others (imports inside functions
    included, those for type checking only not), that is in one of the packages ``within``."""
    graph = _graph()
    found = set(roots)
    for root in roots:
        found |= graph.find_upstream_modules(root)
    return {name for name in found if any(name == package or name.startswith(package + ".") for package in within)}
