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
    Layer,
    collect_layers,
    merge_layers,
    relative_label,
    user_config_read,
)
from cloisterctl.config.settings import Config
from cloisterctl.config.validate import validate_layers
from cloisterctl.errors import ConfigError

_LOADED: dict[tuple[Any, ...], Config] = {}


def _inputs_key(workspace_config: Path | None, environ: Mapping[str, str]) -> tuple[Any, ...]:
    """What the effective config depends on: which user file is read, the two files' bytes and the
    overriding variables."""

    def content(path: Path | None) -> bytes | None:
        try:
            return path.read_bytes() if path is not None else None
        except OSError:
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
    config = Config(*merge_layers(layers), untrusted=tuple(untrusted), warnings=warnings)
    _LOADED[key] = config
    return config


def _apply_trust(
    layers: list[Layer], workspace_config: Path | None, environ: Mapping[str, str]
) -> tuple[list[Layer], list[str]]:
    """The layers with the workspace file's command keys dropped unless this clone trusts it."""
    if workspace_config is None:
        return layers, []
    label = relative_label(workspace_config)
    kept: list[Layer] = []
    ignored: list[str] = []
    for layer in layers:
        keys = trust.command_keys(layer.data) if layer.source == label else []
        if keys:
            try:
                content = workspace_config.read_bytes()
            except OSError:
                content = b""
            if not trust.is_trusted(workspace_config, content, environ):
                ignored += keys
                layer = Layer(layer.source, trust.without_command_keys(layer.data), layer.lines)
        kept.append(layer)
    return kept, ignored
