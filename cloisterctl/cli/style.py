"""Colour for the status words renderers print (ok, problem, warning), and what ``-q`` keeps.

Colour is on only when stdout is a terminal, ``NO_COLOR`` is unset or empty (no-color.org: any
non-empty value turns it off) and ``--no-color`` was not given. Only the status word is coloured,
never the data around it, so a copied line reads the same. Stdlib only (ANSI escapes), so a
renderer pays no import for it.

``-q`` keeps the lines of a command's text output that say something is wrong (``warning``,
``problem``, ``error`` at their start) and drops the rest of its chatter (progress, "updated X",
"nothing new"); data a command exists to print (``status``, ``cost``, ``--json``) is never dropped.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

_ESCAPES = {"ok": "32", "problem": "31", "warning": "33", "error": "31", "bold": "1"}
_RESET = "\x1b[0m"
# Prefixes of the lines -q keeps from a command's chatter.
KEPT_WHEN_QUIET = ("warning", "problem", "error", "cloisterctl: ")

_settings = {"no_color": False, "quiet": False}


def configure(*, no_color: bool = False, quiet: bool = False) -> None:
    """The root options of this run (``--no-color``, ``-q``)."""
    _settings["no_color"] = no_color
    _settings["quiet"] = quiet


@contextmanager
def colourless() -> Iterator[None]:
    """No colour inside (text kept for later, such as `cost`'s memo, may be printed to a pipe)."""
    before = _settings["no_color"]
    _settings["no_color"] = True
    try:
        yield
    finally:
        _settings["no_color"] = before


def make_quiet() -> None:
    """``-q`` given after a subcommand that takes it too (``demo``): as if given before it."""
    _settings["quiet"] = True


def quiet() -> bool:
    return _settings["quiet"]


def colour_enabled(stream: TextIO | None = None, environ: dict[str, str] | None = None) -> bool:
    if _settings["no_color"]:
        return False
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    out = sys.stdout if stream is None else stream
    try:
        return bool(out.isatty())
    except (AttributeError, ValueError):  # a closed or stand-in stream
        return False


def paint(text: str, kind: str) -> str:
    """``text`` in the colour of ``kind`` (ok green, problem and error red, warning yellow) when
    colour is on; else ``text`` as it is."""
    code = _ESCAPES.get(kind)
    if code is None or not colour_enabled():
        return text
    return f"\x1b[{code}m{text}{_RESET}"


def word(kind: str) -> str:
    """The status word itself, painted: ``word("ok")``."""
    return paint(kind, kind)


def warning_prefix(line: str) -> str:
    """A line ``warning: ...`` with its ``warning`` painted (any other line unchanged)."""
    if line.lstrip().startswith("warning:"):
        head, _, rest = line.partition("warning:")
        return f"{head}{word('warning')}:{rest}"
    return line


def plain(text: str) -> str:
    """``text`` without the escapes :func:`paint` adds."""
    for code in _ESCAPES.values():
        text = text.replace(f"\x1b[{code}m", "")
    return text.replace(_RESET, "")


def quiet_text(text: str) -> str:
    """What ``-q`` keeps of a command's chatter: its lines that say something is wrong."""
    kept = [line for line in text.splitlines() if plain(line).lstrip().lower().startswith(KEPT_WHEN_QUIET)]
    return "\n".join(kept)
