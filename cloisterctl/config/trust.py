"""Trust for command-bearing config, the way direnv and mise do it.

A repository's ``.cloister/config.yaml`` is committed, so it may come from anyone. The keys that
name a program, its environment, or text typed into an agent's terminal (``TRUSTED_KEYS``) take
effect from it only after ``cloisterctl trust`` in that clone, which records the file's SHA-256 in
user-local state (``$XDG_STATE_HOME/cloisterctl/trusted.json``, by default under ``~/.local/state``).
A changed file needs trust again. Until then those keys come from the user's own config or the
built-in defaults, and whoever loads the config is told which keys were ignored.

The user config (``$XDG_CONFIG_HOME/cloisterctl/config.yaml``, or its old place
``~/.panopticon/cloister.yaml``) and the environment are the user's own: trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Keys that run a program (or set what it runs with, or type text into an agent: Claude Code runs
# a line starting with "!" as a shell command).
TRUSTED_KEYS: tuple[tuple[str, ...], ...] = (
    ("beads", "command"),
    ("runtime", "spawn"),
    ("runtime", "resume"),
    ("runtime", "env"),
    ("runtime", "exit_text"),
    ("runtime", "save_request"),
    ("tests", "command"),
    ("verification", "commands"),
)
STORE_VERSION = 1


def store_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    home = env.get("HOME") or str(Path.home())
    base = env.get("XDG_STATE_HOME") or os.path.join(home, ".local", "state")
    return Path(base) / "cloisterctl" / "trusted.json"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_store(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return {}
    files = data.get("files") if isinstance(data, dict) and data.get("version") == STORE_VERSION else None
    if not isinstance(files, dict):
        return {}
    return {str(k): str(v) for k, v in files.items() if isinstance(k, str) and isinstance(v, str)}


def store_bytes(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The store's bytes, for keys that cache a loaded config."""
    try:
        return store_path(environ).read_bytes()
    except OSError:
        return None


def is_trusted(config_file: Path, content: bytes, environ: Mapping[str, str] | None = None) -> bool:
    recorded = _read_store(store_path(environ)).get(os.path.realpath(config_file))
    return recorded == digest(content)


def with_trust(config_file: Path, *, trusted: bool, environ: Mapping[str, str] | None = None) -> tuple[Path, str]:
    """The store's path and its new text with trust in the file's current content recorded (or
    dropped). ``workspace.trust`` writes it."""
    path = store_path(environ)
    files = _read_store(path)
    key = os.path.realpath(config_file)
    if trusted:
        files[key] = digest(config_file.read_bytes() if config_file.exists() else b"")
    else:
        files.pop(key, None)
    return path, json.dumps({"version": STORE_VERSION, "files": dict(sorted(files.items()))}, indent=2) + "\n"


def command_keys(data: Mapping[str, Any]) -> list[str]:
    """The trust-needing keys a layer sets, dotted."""
    found = []
    for section, key in TRUSTED_KEYS:
        value = data.get(section)
        if isinstance(value, dict) and key in value:
            found.append(f"{section}.{key}")
    return found


def without_command_keys(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a layer's data with the trust-needing keys removed."""
    stripped = {key: (dict(value) if isinstance(value, dict) else value) for key, value in data.items()}
    for section, key in TRUSTED_KEYS:
        value = stripped.get(section)
        if isinstance(value, dict):
            value.pop(key, None)
    return stripped
