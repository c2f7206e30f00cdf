"""STATE.md front matter: read it, and rewrite only the top-level ``cloister:`` block.

Everything outside that block -- other keys, their order, comments, quoting, blank lines, the
body, the final newline, CRLF line ends, a BOM -- is carried over byte for byte. A save whose
``cloister`` data equals what is already there writes nothing at all. The YAML is read within
bounds (``files.yamltext``). (No front-matter library is used: python-frontmatter's dump sorts
keys, strips the body and drops the final newline, and its YAML loading has no bounds.)

STATE.md may be a symlink: it is read and written through to its target only when the target is
inside the work tree (and outside ``.cloister/``); anything else (another project's file,
``/dev/zero``, a FIFO, a file over ``STATE_CAP``) is an error naming it, and nothing is read or
written through it (``files.safeopen``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloisterctl.errors import StateFileError, UnsafeFileError
from cloisterctl.files import atomic, safeopen, yamltext
from cloisterctl.files.atomic import atomic_write_bytes

KEY = "cloister"
_KEY_LINE = re.compile(r"""^(?:cloister|"cloister"|'cloister')\s*:""")
_BOM = "\ufeff"


@dataclass(frozen=True)
class StateDoc:
    """A parsed STATE.md, with the character offsets needed to splice the cloister block."""

    path: Path
    text: str
    newline: str
    # Offsets into ``text``; both None when the file has no front matter.
    fm_start: int | None
    fm_end: int | None
    front_matter: dict[str, Any]
    # Offsets of the cloister block (its key line through its last content line), if present.
    block: tuple[int, int] | None

    @property
    def cloister(self) -> dict[str, Any]:
        value = self.front_matter.get(KEY)
        return dict(value) if isinstance(value, dict) else {}

    @property
    def body(self) -> str:
        if self.fm_end is None:
            return self.text.removeprefix(_BOM)
        closing_line_end = self.text.find("\n", self.fm_end)
        return "" if closing_line_end < 0 else self.text[closing_line_end + 1 :]


def parse(text: str, path: Path) -> StateDoc:
    """Parse STATE.md text; invalid front matter raises StateFileError naming the file and line."""
    newline = "\r\n" if text.split("\n", 1)[0].endswith("\r") else "\n"
    start = len(_BOM) if text.startswith(_BOM) else 0
    first_end = text.find("\n", start)
    first_line = text[start:] if first_end < 0 else text[start:first_end]
    if first_line.rstrip() != "---":
        return StateDoc(path, text, newline, None, None, {}, None)
    fm_start = len(text) if first_end < 0 else first_end + 1
    fm_end = _find_closing(text, fm_start)
    if fm_end is None:
        raise StateFileError(f"{path}:1: front matter starts with '---' but has no closing '---' line")
    fm_text = text[fm_start:fm_end]
    front_matter, key_line = _load_front_matter(fm_text, path)
    block = _block_span(fm_text, key_line, path) if key_line is not None else None
    if block is not None:
        block = (block[0] + fm_start, block[1] + fm_start)
    return StateDoc(path, text, newline, fm_start, fm_end, front_matter, block)


def _find_closing(text: str, offset: int) -> int | None:
    position = offset
    while position <= len(text):
        end = text.find("\n", position)
        line = text[position:] if end < 0 else text[position:end]
        if line.rstrip() in ("---", "..."):
            return position
        if end < 0:
            return None
        position = end + 1
    return None


def _load_front_matter(fm_text: str, path: Path) -> tuple[dict[str, Any], int | None]:
    """The front matter as data, and the 0-based line of the top-level ``cloister`` key."""
    import yaml

    try:
        node, data = yamltext.load(fm_text)
    except yamltext.YamlLimit as exc:
        line = f":{exc.line + 1}" if exc.line else ""  # +1 for the '---' line
        raise StateFileError(f"{path}{line}: front matter {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 2}" if mark is not None else ""  # +1 for 1-based, +1 for the '---' line
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise StateFileError(f"{path}{line}: invalid YAML in front matter: {problem}") from None
    if data is None:
        return {}, None
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise StateFileError(f"{path}:2: front matter must be a mapping of keys")
    key_line = None
    for key_node, _value in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == KEY:
            if node.flow_style or key_node.start_mark.column != 0:
                raise StateFileError(
                    f"{path}:{key_node.start_mark.line + 2}: the front matter must be block-style YAML "
                    f"for cloisterctl to update its '{KEY}:' key"
                )
            if not isinstance(data.get(KEY), dict) and data.get(KEY) is not None:
                raise StateFileError(
                    f"{path}:{key_node.start_mark.line + 2}: '{KEY}:' must be a mapping, got {type(data[KEY]).__name__}"
                )
            key_line = key_node.start_mark.line
    return data, key_line


def _block_span(fm_text: str, key_line: int, path: Path) -> tuple[int, int]:
    """Offsets of the cloister block: its key line and every following indented or blank line,
    minus trailing blank and comment-only lines (those lead into whatever comes next)."""
    lines = fm_text.split("\n")
    if not _KEY_LINE.match(lines[key_line] if key_line < len(lines) else ""):
        # YAML also breaks lines at U+2028 and friends; fall back to finding the key line by text.
        candidates = [i for i, line in enumerate(lines) if _KEY_LINE.match(line)]
        if len(candidates) != 1:
            raise StateFileError(f"{path}: cannot locate the '{KEY}:' line in the front matter")
        key_line = candidates[0]
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    last = key_line
    index = key_line + 1
    while index < len(lines):
        line = lines[index].rstrip("\r")
        if line and not line[0].isspace():
            break
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            last = index
        index += 1
    end = min(offsets[last + 1], len(fm_text))
    return offsets[key_line], end


def render_block(cloister: dict[str, Any], newline: str) -> str:
    import yaml

    wanted = {KEY: cloister}
    dumped = yaml.safe_dump(wanted, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096)
    if yaml.safe_load(dumped) != wanted:
        # PyYAML writes U+0085/U+2028/U+2029 raw with allow_unicode and then reads them as line
        # breaks; escaping everything non-ASCII is the form that survives.
        dumped = yaml.safe_dump(wanted, sort_keys=False, default_flow_style=False, allow_unicode=False, width=4096)
    return dumped.replace("\n", newline)


def with_cloister(doc: StateDoc, cloister: dict[str, Any]) -> str:
    """The full text of ``doc`` with its cloister block set to ``cloister``."""
    if doc.front_matter.get(KEY) == cloister:
        return doc.text
    block = render_block(cloister, doc.newline)
    text = doc.text
    if doc.block is not None:
        # The span always ends with a line end: the closing '---' line follows it.
        start, end = doc.block
        return text[:start] + block + text[end:]
    if doc.fm_end is not None:
        # Appended as the last key; everything before the closing '---' ends with a line end.
        return text[: doc.fm_end] + block + text[doc.fm_end :]
    bom = _BOM if text.startswith(_BOM) else ""
    rest = text[len(bom) :]
    return f"{bom}---{doc.newline}{block}---{doc.newline}{rest}"


def target(path: Path) -> Path:
    """Where STATE.md's bytes are: the file, or its symlink's target when that is inside the work
    tree (the documented write-through); any other symlink is a StateFileError."""
    if not path.is_symlink():
        return path
    root = os.path.realpath(path.parent)
    resolved = os.path.realpath(path)
    inside = os.path.commonpath([root, resolved]) == root and resolved != root
    if not inside or safeopen.work_tree_of(resolved) is not None:
        raise StateFileError(f"{path}: a symlink to {resolved}, outside the work tree; not followed")
    return Path(resolved)


def read_bytes(path: Path) -> bytes:
    """STATE.md's bytes, read as ``read`` does (a symlink only to inside the work tree, a regular
    file, at most ``STATE_CAP``); FileNotFoundError when missing, StateFileError when refused."""
    try:
        where = target(path)
        return safeopen.read_capped(where, safeopen.STATE_CAP, below=where.parent)
    except UnsafeFileError as exc:
        raise StateFileError(str(exc)) from None


def read(path: Path) -> StateDoc:
    try:
        raw = read_bytes(path)
    except FileNotFoundError:
        raise StateFileError(f"{path}: no such file (run `cloisterctl init`)") from None
    except OSError as exc:
        raise StateFileError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StateFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return parse(text, path)


def check_writable(path: Path) -> None:
    """Raise (naming file and line) unless STATE.md, when it exists, can be updated: its front
    matter is valid and the file is not read-only. Commands call this before their first write."""
    if path.exists() or path.is_symlink():
        read(path)
        try:
            atomic.check_writable(path)
        except PermissionError:
            raise StateFileError(f"{path}: the file is read-only; nothing was written") from None


def write_cloister(path: Path, cloister: dict[str, Any]) -> bool:
    """Set the cloister block of STATE.md; returns whether the file changed.

    The caller holds the workspace lock. Invalid front matter raises before anything is written.
    """
    doc = read(path)
    new_text = with_cloister(doc, cloister)
    if new_text == doc.text:
        return False
    if parse(new_text, path).front_matter.get(KEY) != cloister:  # never write what we cannot read back
        raise StateFileError(f"{path}: refusing to write: the updated front matter does not read back")
    atomic_write_bytes(target(path), new_text.encode("utf-8"))
    return True
