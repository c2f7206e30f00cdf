"""Trust for program-like config, the way direnv and mise do it: by content and by place.

A repository's ``.cloister/config.yaml`` is committed, so it may come from anyone. The keys that
name a program, its environment, text typed into an agent's terminal, a path read, an identity on
commits, other repositories to act on, or a regular expression (``TRUSTED_KEYS``: every key the
schema marks ``trust=True``) take effect from it only after ``cloisterctl trust`` in that clone,
which records the file's SHA-256 in user-local state (``$XDG_STATE_HOME/cloisterctl/trusted.json``,
by default under ``~/.local/state``). A changed file needs trust again. Until then those keys come
from the user's own config or the built-in defaults, and whoever loads the config is told which
keys were ignored (with their lines).

Trust covers a regular file at ``.cloister/config.yaml`` of one work tree: it is keyed by the work
tree's path (``place``), never by where a symlink leads, and the file is read with no symlink
followed (``files.safeopen``), so a clone that commits its config as a symlink to a file trusted
elsewhere gets nothing from that trust.

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

from cloisterctl.config.schema import SCHEMA
from cloisterctl.config.spec import trusted_paths
from cloisterctl.errors import ConfigError, UnsafeFileError
from cloisterctl.files import safeopen

TRUSTED_KEYS: tuple[tuple[str, ...], ...] = tuple(trusted_paths(SCHEMA))
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


def place(config_file: Path) -> str:
    """The store's key for a work tree's config: the work tree's real path joined with
    ``.cloister/config.yaml`` as written, so a symlinked file or ``.cloister`` is never resolved
    to the place someone else trusted."""
    return os.path.join(os.path.realpath(config_file.parent.parent), config_file.parent.name, config_file.name)


def is_trusted_digest(config_file: Path, sha256: str | None, environ: Mapping[str, str] | None = None) -> bool:
    """Whether this clone trusts the config bytes whose SHA-256 is ``sha256`` at this place (None:
    nothing was read, so nothing is trusted)."""
    return sha256 is not None and _read_store(store_path(environ)).get(place(config_file)) == sha256


def config_bytes(config_file: Path) -> bytes:
    """The config's bytes as trust sees them: a regular file, not a symlink (b"" when missing)."""
    try:
        return safeopen.read_capped(config_file, safeopen.CONFIG_CAP * 4)
    except FileNotFoundError:
        return b""
    except UnsafeFileError as exc:
        raise ConfigError(f"{exc}; it cannot be trusted") from None


def with_trust(config_file: Path, *, trusted: bool, environ: Mapping[str, str] | None = None) -> tuple[Path, str]:
    """The store's path and its new text with trust in the file's current content recorded (or
    dropped). ``workspace.trust`` writes it."""
    path = store_path(environ)
    files = _read_store(path)
    key = place(config_file)
    if trusted:
        files[key] = digest(config_bytes(config_file))
    else:
        files.pop(key, None)
    return path, json.dumps({"version": STORE_VERSION, "files": dict(sorted(files.items()))}, indent=2) + "\n"


def command_paths(data: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """The trust-needing key paths a layer sets, in ``TRUSTED_KEYS`` order."""
    found = []
    for path in TRUSTED_KEYS:
        value: Any = data
        for part in path[:-1]:
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, dict) and path[-1] in value:
            found.append(path)
    return found


def command_keys(data: Mapping[str, Any]) -> list[str]:
    """The trust-needing keys a layer sets, dotted."""
    return [".".join(path) for path in command_paths(data)]


def without_command_keys(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a layer's data with the trust-needing keys removed (the mappings on their way
    copied, the rest shared)."""
    stripped = dict(data)
    for path in command_paths(data):
        cursor = stripped
        for part in path[:-1]:
            cursor[part] = dict(cursor[part])
            cursor = cursor[part]
        del cursor[path[-1]]
    return stripped
