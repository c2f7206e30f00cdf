"""cloisterctl: route coding-agent work to the cheapest model tier that can do it.

Kept empty of imports on purpose: git hooks import submodules of this package on
every commit, and anything imported here is paid for by each of them.
"""

__version__ = "0.1.0"
