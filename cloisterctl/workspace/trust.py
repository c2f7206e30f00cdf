"""`cloisterctl trust`: let this clone's `.cloister/config.yaml` name programs (see ``config.trust``)."""

from __future__ import annotations

from typing import Any

from cloisterctl.config import trust
from cloisterctl.config.layers import read_file_layer
from cloisterctl.errors import ConfigError
from cloisterctl.files.atomic import atomic_write_text
from cloisterctl.workspace.layout import Workspace


def set_trust(ws: Workspace, *, trusted: bool) -> dict[str, Any]:
    """Record trust in the workspace config's current content (or drop it); returns what it did."""
    path = ws.config_path
    keys: list[str] = []
    if path.exists():
        layer, problems = read_file_layer(path, label=".cloister/config.yaml")
        if problems:
            raise ConfigError(f"{problems[0]} (fix it before trusting the file)")
        keys = trust.command_keys(layer.data) if layer is not None else []
    store, text = trust.with_trust(path, trusted=trusted)
    atomic_write_text(store, text)
    content = trust.config_bytes(path) if trusted else b""
    return {
        "config": str(path),
        "trusted": trusted,
        "sha256": trust.digest(content) if trusted else None,
        "command_keys": keys,
        "store": str(store),
    }
