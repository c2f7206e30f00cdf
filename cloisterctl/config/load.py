"""Loading the effective config: layers read, validated and merged, memoised by what they depend on.

Layers, later wins: built-in defaults < the user config (``$XDG_CONFIG_HOME/cloisterctl/config.yaml``; while
it does not exist, the old ``~/.panopticon/cloister.yaml``) < ``<workspace>/.cloister/config.yaml`` < a few
``CLOISTER_*`` environment variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cloisterctl.config import trust
from cloisterctl.config.layers import (
    ENV_OVERRIDES,
    READ_CAP,
    Layer,
    collect_layers,
    merge_layers,
    relative_label,
    user_config_read,
)
from cloisterctl.config.settings import Config
from cloisterctl.config.validate import validate_layers
from cloisterctl.errors import ConfigError, UnsafeFileError
from cloisterctl.files import safeopen

_LOADED: dict[tuple[Any, ...], Config] = {}


def _inputs_key(workspace_config: Path | None, environ: Mapping[str, str]) -> tuple[Any, ...]:
    """What the effective config depends on: which user file is read, the two files' bytes and the
    overriding variables."""

    def content(path: Path | None) -> bytes | None:
        try:
            return safeopen.read_capped(path, READ_CAP) if path is not None else None
        except (OSError, UnsafeFileError):
            return None

    label = relative_label(workspace_config) if workspace_config is not None else None
    variables = tuple(environ.get(name) for name in ENV_OVERRIDES)
    user_file = user_config_read(environ)
    return (user_file, content(user_file), label, content(workspace_config), variables, trust.store_bytes(environ))


def load_config(workspace_config: Path | None, environ: Mapping[str, str] | None = None) -> Config:
    """The effective config; any problem is a ConfigError naming the first one.

    Workspaces with the same config files share one Config (tick --all loads one per workspace);
    treat it as read-only."""
    env = os.environ if environ is None else environ
    key = _inputs_key(workspace_config, env)
    cached = _LOADED.get(key)
    if cached is not None:
        return cached
    layers, problems = collect_layers(workspace_config, environ)
    if any(layer.data for layer in layers if layer.source != "default"):
        problems += validate_layers(layers)  # the built-in defaults alone are valid (a test says so)
    if problems:
        more = f" (and {len(problems) - 1} more; run `cloisterctl config validate`)" if len(problems) > 1 else ""
        raise ConfigError(f"{problems[0]}{more}")
    warnings = tuple(str(warning) for layer in layers for warning in layer.warnings)
    layers, untrusted = _apply_trust(layers, workspace_config, env)
    config = Config(
        *merge_layers(layers),
        untrusted=tuple(key for key, _line in untrusted),
        untrusted_lines=tuple(line for _key, line in untrusted),
        warnings=warnings,
    )
    _LOADED[key] = config
    return config


def _apply_trust(
    layers: list[Layer], workspace_config: Path | None, environ: Mapping[str, str]
) -> tuple[list[Layer], list[tuple[str, int | None]]]:
    """The layers with the workspace file's trust-needing keys dropped unless this clone trusts the
    bytes that were parsed (``Layer.digest``) at this place; each ignored key with its line."""
    if workspace_config is None:
        return layers, []
    label = relative_label(workspace_config)
    kept: list[Layer] = []
    ignored: list[tuple[str, int | None]] = []
    for layer in layers:
        paths = trust.command_paths(layer.data) if layer.source == label else []
        if paths and not trust.is_trusted_digest(workspace_config, layer.digest, environ):
            found = [(".".join(path), layer.lines.get(path)) for path in paths]
            ignored += sorted(found, key=lambda item: item[1] or 0)  # in the file's order
            layer = Layer(layer.source, trust.without_command_keys(layer.data), layer.lines, layer.warnings)
        kept.append(layer)
    return kept, ignored
