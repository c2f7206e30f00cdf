"""Where Claude Code keeps transcripts, and which files belong to a project or a session.

Claude Code writes ``<config>/projects/<project dir>/<session>.jsonl`` (and
``<session>/subagents/agent-*.jsonl`` for subagents), where the config dirs are ``CLAUDE_CONFIG_DIR``
(comma-separated) or ``~/.config/claude`` and ``~/.claude``.

A transcript's path is recorded in the committed ledger only in a form every clone can read
(``portable_path``): relative to a Claude config dir (``claude:projects/<project>/<session>.jsonl``)
or to the work tree (``notes/x.jsonl``), never as a machine path; each clone resolves it against
its own dirs (``local_path``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from cloisterctl.cost.usage import TranscriptFile
from cloisterctl.models.names import is_safe_name

# Names longer than this are cut and suffixed with a hash (Claude Code's rule).
MAX_PROJECT_NAME = 200


def claude_config_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Claude Code's config dirs: ``CLAUDE_CONFIG_DIR`` (comma-separated) when set, else
    ``$XDG_CONFIG_HOME/claude`` (``~/.config/claude``) and ``~/.claude``. Duplicates (one dir reached
    by two names) are listed once."""
    env = os.environ if environ is None else environ
    home = Path(env.get("HOME") or Path.home())
    listed = env.get("CLAUDE_CONFIG_DIR", "")
    if listed.strip():
        candidates = [Path(os.path.expanduser(part.strip())) for part in listed.split(",") if part.strip()]
    else:
        xdg = env.get("XDG_CONFIG_HOME") or str(home / ".config")
        candidates = [Path(xdg) / "claude", home / ".claude"]
    seen: set[Path] = set()
    dirs: list[Path] = []
    for candidate in candidates:
        key = candidate.resolve() if candidate.exists() else candidate
        if key not in seen:
            seen.add(key)
            dirs.append(candidate)
    return dirs


CLAUDE_PREFIX = "claude:"  # a path relative to a Claude Code config dir (whichever of them holds it)


def _relative(path: Path, base: Path) -> str | None:
    for candidate in (base, base.resolve()):
        for target in (path, path.resolve()):
            if target.is_relative_to(candidate):
                return target.relative_to(candidate).as_posix()
    return None


def portable_path(path: str, root: Path, environ: Mapping[str, str] | None = None) -> str | None:
    """``path`` as the committed ledger holds it: ``claude:`` and the path under a Claude config
    dir, or the path relative to the work tree ``root``; a form already portable as it is. None for
    a path elsewhere on this machine: a fact only this machine can use, never committed."""
    if path.startswith(CLAUDE_PREFIX) or not os.path.isabs(path):
        return path
    for directory in claude_config_dirs(environ):
        inside = _relative(Path(path), directory)
        if inside is not None:
            return CLAUDE_PREFIX + inside
    return _relative(Path(path), root)


def local_path(recorded: str, root: Path, dirs: Sequence[Path]) -> Path:
    """Where a path the ledger holds (``portable_path``; an absolute one from an earlier version as
    it is) is on this machine: under the first Claude config dir of ``dirs`` that has it (the first
    when none has), or under the work tree ``root``."""
    if recorded.startswith(CLAUDE_PREFIX):
        inside = recorded.removeprefix(CLAUDE_PREFIX)
        found = [directory / inside for directory in dirs if (directory / inside).exists()]
        return (found or [directory / inside for directory in dirs] or [root / inside])[0]
    return Path(recorded) if os.path.isabs(recorded) else root / recorded


def _js_hash(text: str) -> int:
    """JavaScript's ``h = (h * 31 + charCode) | 0`` over UTF-16 code units, as a signed 32-bit int."""
    value = 0
    units = text.encode("utf-16-le")
    for index in range(0, len(units), 2):
        value = (value * 31 + (units[index] | units[index + 1] << 8)) & 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def project_dir_name(path: str | os.PathLike[str]) -> str:
    """The directory Claude Code keeps the transcripts of an agent started in ``path`` in.

    Every character that is not an ASCII letter or digit becomes ``-`` (no collapsing; JavaScript
    replaces per UTF-16 code unit, so a character outside the BMP becomes ``--``). A name longer
    than 200 characters is cut to 200 and suffixed with ``-`` and the base-36 absolute value of the
    JavaScript string hash of the original path.
    """
    text = os.fspath(path)
    name = re.sub(r"[^A-Za-z0-9]", lambda m: "-" * (2 if ord(m.group()) > 0xFFFF else 1), text)
    if len(name) <= MAX_PROJECT_NAME:
        return name
    return f"{name[:MAX_PROJECT_NAME]}-{_base36(abs(_js_hash(text)))}"


def discover(
    config_dirs: Iterable[Path], projects: Iterable[str] | None = None, visited: list[str] | None = None
) -> list[TranscriptFile]:
    """Every transcript under ``<config>/projects/<project>/`` for the given project dir names (all
    projects when None): ``<session>.jsonl`` and ``<session>/subagents/agent-*.jsonl``. Sorted by
    path, which is the order ties are broken in when one response appears in two files.

    ``visited`` collects every directory looked in (or for): where a new transcript would appear."""
    wanted = None if projects is None else set(projects)
    seen: list[str] = [] if visited is None else visited
    found: list[TranscriptFile] = []
    for config_dir in config_dirs:
        root = config_dir / "projects"
        seen.append(str(root))
        if wanted is None:
            try:
                names = [entry.name for entry in os.scandir(root) if is_dir_entry(entry)]
            except OSError:
                continue
        else:
            names = [name for name in wanted if (root / name).is_dir()]
            seen += [str(root / name) for name in wanted]
        for name in names:
            found += _project_files(root / name, name, seen)
    found.sort(key=lambda f: f.key)
    return found


def files_for_session(main: Path, visited: list[str] | None = None) -> list[TranscriptFile]:
    """The transcript ``<project>/<session>.jsonl`` (when it exists) and its subagents' files."""
    project, session = main.parent.name, main.name.removesuffix(".jsonl")
    files = [TranscriptFile(main, project, session, False)] if main.is_file() else []
    if visited is not None:
        visited += [str(main.parent), str(main.parent / session), str(main.parent / session / "subagents")]
    try:
        agents = list(os.scandir(main.parent / session / "subagents"))
    except OSError:
        return files
    for agent in agents:
        if agent.name.startswith("agent-") and agent.name.endswith(".jsonl") and _is_file(agent):
            files.append(TranscriptFile(Path(agent.path), project, session, True))
    return files


def is_dir_entry(entry: os.DirEntry[str]) -> bool:
    """Like ``entry.is_dir()``, but a symlink loop or an unreadable entry is simply not one (it is
    skipped; the rest of the directory is still read)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _project_files(project_dir: Path, project: str, visited: list[str]) -> list[TranscriptFile]:
    files: list[TranscriptFile] = []
    visited.append(str(project_dir))
    try:
        entries = list(os.scandir(project_dir))
    except OSError:
        return files
    for entry in entries:
        if entry.name.endswith(".jsonl") and _is_file(entry):
            files.append(TranscriptFile(Path(entry.path), project, entry.name[: -len(".jsonl")], False))
        elif is_dir_entry(entry):
            visited += [entry.path, os.path.join(entry.path, "subagents")]
            try:
                agents = list(os.scandir(os.path.join(entry.path, "subagents")))
            except OSError:
                continue
            for agent in agents:
                if agent.name.startswith("agent-") and agent.name.endswith(".jsonl") and _is_file(agent):
                    files.append(TranscriptFile(Path(agent.path), project, entry.name, True))
    return files


def session_transcript(root: Path, session: str | None, environ: Mapping[str, str] | None = None) -> Path | None:
    """The main transcript of ``session`` for an agent started at ``root``, if Claude Code wrote one."""
    if not is_safe_name(session):  # a session id is a name (``models.names``), never a path
        return None
    name = project_dir_name(root)
    for directory in claude_config_dirs(environ):
        candidate = directory / "projects" / name / f"{session}.jsonl"
        if candidate.exists():
            return candidate
    return None
