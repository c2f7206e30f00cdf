"""STATE.md through git merges: text rules, no git and no I/O.

The ``cloister:`` block of STATE.md's front matter is a projection of the ledger, so a merge never
needs a person for it. Two tools here:

- ``with_placeholder`` / ``put_block``: the merge driver's halves (``integrations.merge_driver``). Each
  version's block is replaced by one placeholder line, so the rest -- the body, the user's own
  front matter keys -- merges like any text, with git's own three-way merge; then one block goes
  where the placeholder is (and is rebuilt from the merged ledger by the next command).
- ``resolve_block_conflicts``: for a clone without the driver, where git's text merge left
  conflict markers. A conflict whose two sides differ only inside the cloister block is resolved
  (to the first side: the block is rebuilt from the ledger right after); a conflict that touches
  anything else in the front matter, or sits in the body, is left as it is and reported by line.

Lines are scanned as STATE.md's writer lays them out (``ledger.statefile``): the block is its
top-level key line and every indented, blank or comment line after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PLACEHOLDER = "cloister: {}  # cloisterctl merge placeholder"
_KEY_LINE = re.compile(r"""^(?:cloister|"cloister"|'cloister')\s*:""")
_TOP_KEY = re.compile(r"""^[^\s#\-<=>|]""")
OURS, BASE, THEIRS, END = "<" * 7, "|" * 7, "=" * 7, ">" * 7


def _is_fence(line: str) -> bool:
    return line.rstrip("\r\n").rstrip() in ("---", "...")


def front_matter_lines(lines: list[str]) -> tuple[int, int] | None:
    """Indices (first, closing) of the front matter's lines; None without front matter."""
    if not lines or lines[0].lstrip("\ufeff").rstrip("\r\n").rstrip() != "---":
        return None
    for index in range(1, len(lines)):
        if _is_fence(lines[index]):
            return 1, index
    return None


def _inside(line: str, inside: bool) -> bool:
    """Whether ``line`` belongs to the cloister block, given whether the line before did."""
    bare = line.rstrip("\r\n")
    if _KEY_LINE.match(bare):
        return True
    if _TOP_KEY.match(bare):
        return False
    return inside  # indented, blank, a comment: it goes with what came before


def _block_span(lines: list[str], first: int, closing: int) -> tuple[int, int] | None:
    """[start, end) of the cloister block within the front matter lines; None when there is none."""
    start = next((i for i in range(first, closing) if _KEY_LINE.match(lines[i])), None)
    if start is None:
        return None
    end = start + 1
    while end < closing and _inside(lines[end], True):
        end += 1
    while end - 1 > start and not lines[end - 1].strip(" \t\r\n#"):  # trailing blanks lead on
        end -= 1
    return start, end


def with_placeholder(text: str) -> tuple[str, str | None]:
    """``text`` with its cloister block replaced by ``PLACEHOLDER``, and the block's text."""
    lines = text.splitlines(keepends=True)
    fence = front_matter_lines(lines)
    span = _block_span(lines, *fence) if fence else None
    if span is None:
        return text, None
    newline = "\r\n" if lines[span[0]].endswith("\r\n") else "\n"
    block = "".join(lines[span[0] : span[1]])
    return "".join(lines[: span[0]]) + PLACEHOLDER + newline + "".join(lines[span[1] :]), block


def put_block(text: str, block: str | None) -> str:
    """``text`` with the placeholder line replaced by ``block`` (or removed, for None)."""
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.rstrip("\r\n") == PLACEHOLDER:
            lines[index] = block or ""
            break
    return "".join(lines)


@dataclass
class Resolution:
    text: str
    resolved: int = 0  # conflicts inside the cloister block, resolved
    front_matter_left: list[int] = field(default_factory=list)  # 1-based lines of conflicts left there
    body_left: list[int] = field(default_factory=list)  # 1-based lines of conflicts in the body


def _hunk(lines: list[str], start: int) -> tuple[list[str], list[str], int] | None:
    """The two sides of the conflict opening at ``start`` and the index after its end marker."""
    ours: list[str] = []
    theirs: list[str] = []
    side: list[str] | None = ours
    for index in range(start + 1, len(lines)):
        line = lines[index]
        if line.startswith(BASE):
            side = None  # diff3's base section: not a side
        elif line.startswith(THEIRS) and line.rstrip("\r\n") == THEIRS:
            side = theirs
        elif line.startswith(END):
            return ours, theirs, index + 1
        elif side is not None:
            side.append(line)
    return None


def _outside(side: list[str], inside: bool) -> tuple[list[str], bool]:
    """The lines of ``side`` outside the cloister block, and whether it ends inside it."""
    kept: list[str] = []
    for line in side:
        inside = _inside(line, inside)
        if not inside:
            kept.append(line)
    return kept, inside


def resolve_block_conflicts(text: str) -> Resolution:
    """Resolve the conflicts that lie wholly in the cloister block; report the others by line."""
    lines = text.splitlines(keepends=True)
    fence = front_matter_lines(lines)
    closing = fence[1] if fence else 0
    result = Resolution(text)
    out: list[str] = []
    inside = False
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.startswith(OURS):
            if 0 < index < closing:
                inside = _inside(line, inside)
            out.append(line)
            index += 1
            continue
        hunk = _hunk(lines, index)
        if hunk is None or index >= closing:
            (result.body_left if index >= closing else result.front_matter_left).append(index + 1)
            out.append(line)
            index += 1
            continue
        ours, theirs, after = hunk
        ours_rest, ours_inside = _outside(ours, inside)
        theirs_rest, _ = _outside(theirs, inside)
        if [x.rstrip("\r\n") for x in ours_rest] == [x.rstrip("\r\n") for x in theirs_rest]:
            out += ours
            inside = ours_inside
            result.resolved += 1
        else:
            result.front_matter_left.append(index + 1)
            out += lines[index:after]
        index = after
    result.text = "".join(out)
    return result


def has_markers(text: str) -> bool:
    return any(line.startswith((OURS, END)) for line in text.splitlines())
