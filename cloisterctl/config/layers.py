"""Config layers: each source of values (built-in defaults, the user file, the workspace file, the
environment) with the line of every key, and merging them (later wins: mappings merge key by key,
lists and single values replace).

Files are read with ``files.safeopen``: the workspace's ``.cloister/config.yaml`` must be a regular
file there, not a symlink (a symlinked, special or oversized file is read as absent, with a
warning naming it, so it is never trusted either); the user's own file may be a symlink (dotfiles
often are) but must lead to a regular file. ``Layer.digest`` is the SHA-256 of the bytes parsed,
which is what trust is checked against (``config.load``), so the file is read once.

A file that uses a key's old name (``RENAMED``) is read as if it used the new one, with a warning
(``Layer.warnings``: `config validate`, `status`, `tick` and `doctor` show them); a file that sets
both names is an error.
"""

from __future__ import annotations

import copy
import hashlib
import os
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloisterctl.config.schema import DEFAULTS
from cloisterctl.config.spec import KeyPath, describe, dotted
from cloisterctl.errors import ConfigError, UnsafeFileError
from cloisterctl.files import safeopen, yamltext


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true/false, 1/0, yes/no or on/off")


def _parse_float(raw: str) -> float:
    return float(raw)


def _parse_argv(raw: str) -> list[str]:
    argv = shlex.split(raw)
    if not argv:
        raise ValueError("empty command")
    return argv


# The environment variables that override config, for one-off runs and CI.
ENV_OVERRIDES: dict[str, tuple[KeyPath, Callable[[str], Any]]] = {
    "CLOISTER_TICK_COMMIT": (("tick", "commit"), _parse_bool),
    "CLOISTER_REQUIRE_APPROVAL": (("handoffs", "guards", "require_approval"), _parse_bool),
    "CLOISTER_LOCK_TIMEOUT": (("lock_timeout_seconds",), _parse_float),
    "CLOISTER_IDLE_SECONDS": (("handoffs", "idle_seconds"), _parse_float),
    "CLOISTER_SPAWN": (("runtime", "spawn"), _parse_argv),
}


# Keys renamed within their mapping: old key path -> new name. The old name is still read.
RENAMED: dict[KeyPath, str] = {
    ("handoffs", "auto_triggers", "stuck_escalation"): "stuck",  # named like its trigger
}


@dataclass(frozen=True)
class Problem:
    source: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


@dataclass
class Layer:
    """One source of config values: its data and the line of each key path."""

    source: str
    data: dict[str, Any]
    lines: dict[KeyPath, int] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)  # what it may still do, but should not (old names)
    digest: str | None = None  # SHA-256 of the file's bytes, for a layer read from a file

    def line_of(self, path: KeyPath) -> int | None:
        # A problem inside a list item or deeper than recorded points at the nearest known key.
        for cut in range(len(path), 0, -1):
            line = self.lines.get(path[:cut])
            if line is not None:
                return line
        return None


def parse_yaml_layer(text: str, source: str) -> tuple[Layer, list[Problem]]:
    """Parse a config file, keeping the line of every key. Broken YAML raises ConfigError (one line)."""
    import yaml

    problems: list[Problem] = []
    try:
        node, data = yamltext.load(text)
    except yamltext.YamlLimit as exc:
        where = f"{source}:{exc.line}" if exc.line else source
        raise ConfigError(f"{where}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    if data is None:
        return Layer(source, {}), problems
    if not isinstance(data, dict):
        problems.append(Problem(source, 1, "", f"the file must be a mapping of keys, got {describe(data)}"))
        return Layer(source, {}), problems
    layer = Layer(source, data)
    _record_lines(node, (), layer.lines, source, problems)
    _read_old_names(layer, problems)
    return layer, problems


def _read_old_names(layer: Layer, problems: list[Problem]) -> None:
    """Rename the old keys of ``layer`` in place (their lines follow), each with a warning; setting
    both the old and the new name is a problem."""
    for old, name in RENAMED.items():
        parent: Any = layer.data
        for part in old[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
        if not isinstance(parent, dict) or old[-1] not in parent:
            continue
        new = (*old[:-1], name)
        line = layer.lines.get(old)
        if name in parent:
            del parent[old[-1]]  # reported here, not again as an unknown key
            message = f"{dotted(new)} is set too; {old[-1]} is its old name: keep only {name}"
            problems.append(Problem(layer.source, line, dotted(old), message))
            continue
        renamed = {(name if key == old[-1] else key): value for key, value in parent.items()}
        parent.clear()
        parent.update(renamed)  # in place and in order: `config show` lists it where the file has it
        for path in [path for path in layer.lines if path[: len(old)] == old]:
            layer.lines[(*new, *path[len(old) :])] = layer.lines.pop(path)
        layer.warnings.append(
            Problem(layer.source, line, dotted(old), f"deprecated: renamed to {dotted(new)} (read as that for now)")
        )


def _record_lines(node: Any, path: KeyPath, lines: dict[KeyPath, int], source: str, problems: list[Problem]) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            child = (*path, key)
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(Problem(source, line, dotted(child), "duplicate key (YAML keeps only the last one)"))
            seen.add(key)
            lines[child] = line
            _record_lines(value_node, child, lines, source, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines[child] = item.start_mark.line + 1
            _record_lines(item, child, lines, source, problems)


# Past yamltext's own 1 MiB bound, so that bound reports an oversized file (with its line).
READ_CAP = 4 * safeopen.MIB


def read_file_layer(path: Path, label: str | None = None) -> tuple[Layer | None, list[Problem]]:
    source = label or str(path)
    try:
        raw = safeopen.read_capped(path, READ_CAP)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        return None, []
    except UnsafeFileError as exc:
        return Layer(source, {}, warnings=[Problem(source, None, "", f"{exc.reason}: read as absent")]), []
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read: {exc}") from None
    digest = hashlib.sha256(raw).hexdigest()
    if all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()):
        return Layer(source, {}, digest=digest), []  # comments only (as `init` writes it): nothing to parse
    layer, problems = parse_yaml_layer(text, source)
    layer.digest = digest
    return layer, problems


def env_layer(environ: Mapping[str, str]) -> tuple[Layer, list[Problem]]:
    data: dict[str, Any] = {}
    lines: dict[KeyPath, int] = {}
    problems: list[Problem] = []
    for name, (path, parse) in ENV_OVERRIDES.items():
        raw = environ.get(name)
        if raw is None or raw == "":
            continue
        try:
            value = parse(raw)
        except ValueError as exc:
            problems.append(Problem(f"env {name}", None, dotted(path), f"{raw!r}: {exc}"))
            continue
        cursor = data
        for part in path[:-1]:
            cursor = cursor.setdefault(str(part), {})
        cursor[str(path[-1])] = value
    return Layer("env", data, lines), problems


def _merge(
    base: dict[str, Any], incoming: dict[str, Any], layer: Layer, sources: dict[str, str], path: KeyPath = ()
) -> None:
    for key, value in incoming.items():
        child = (*path, key)
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value, layer, sources, child)
            continue
        base[key] = copy.deepcopy(value)
        prefix = dotted(child)
        for stale in [p for p in sources if p == prefix or p.startswith(prefix + ".")]:
            del sources[stale]
        _record_sources(value, child, layer, sources)


def _record_sources(value: Any, path: KeyPath, layer: Layer, sources: dict[str, str]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _record_sources(item, (*path, key), layer, sources)
        return
    line = layer.lines.get(path)
    sources[dotted(path)] = f"{layer.source}:{line}" if line else layer.source


def defaults_layer() -> Layer:
    # Merging deep-copies every value it takes, so the built-in tree is shared, never changed.
    return Layer("default", DEFAULTS)


def user_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the user config lives: ``$XDG_CONFIG_HOME/cloisterctl/config.yaml`` (``~/.config``)."""
    env = os.environ if environ is None else environ
    home = env.get("HOME") or str(Path.home())
    base = env.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(base):  # unset, empty or relative: the XDG spec says use the default
        base = os.path.join(home, ".config")
    return Path(base) / "cloisterctl" / "config.yaml"


def legacy_user_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """The user config's old place (in ``~/.panopticon``, another product's directory): still read
    when the new file does not exist."""
    env = os.environ if environ is None else environ
    home = env.get("HOME") or str(Path.home())
    return Path(home) / ".panopticon" / "cloister.yaml"


def user_config_read(environ: Mapping[str, str] | None = None) -> Path:
    """The user config file that is read: the new one when it exists, else the legacy one when that
    exists (the legacy one is ignored when both do), else the new one (read as absent)."""
    path = user_config_path(environ)
    if path.exists():
        return path
    legacy = legacy_user_config_path(environ)
    return legacy if legacy.exists() else path


def collect_layers(
    workspace_config: Path | None, environ: Mapping[str, str] | None = None
) -> tuple[list[Layer], list[Problem]]:
    """Every layer in precedence order, with the problems found while reading them."""
    env = os.environ if environ is None else environ
    layers = [defaults_layer()]
    problems: list[Problem] = []
    user_file = user_config_read(env)
    user_layer, found = read_file_layer(user_file, label=str(user_file))
    problems += found
    if user_layer is not None:
        layers.append(user_layer)
    if workspace_config is not None:
        label = relative_label(workspace_config)
        repo_layer, found = read_file_layer(workspace_config, label=label)
        problems += found
        if repo_layer is not None:
            layers.append(repo_layer)
    environment, found = env_layer(env)
    problems += found
    if environment.data:
        layers.append(environment)
    return layers, problems


def relative_label(path: Path) -> str:
    """A workspace config is named as it appears in the repo (`.cloister/config.yaml`), wherever we run."""
    if path.parent.name == ".cloister":
        return f".cloister/{path.name}"
    return str(path)


def merge_layers(layers: Sequence[Layer]) -> tuple[dict[str, Any], dict[str, str]]:
    """The merged data and, for every leaf, the layer (and line) it came from."""
    data: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for layer in layers:
        _merge(data, layer.data, layer, sources)
    return data, sources
