"""Explicit complexity levels set without `bd`: ``.cloister/complexity.yaml`` (committed)."""

from __future__ import annotations

from pathlib import Path

from cloisterctl.errors import CloisterError
from cloisterctl.files import yamltext
from cloisterctl.files.atomic import atomic_write_text
from cloisterctl.files.locking import locked
from cloisterctl.workspace.layout import Workspace

OVERRIDES_HEADER = (
    "# Complexity levels set with `cloisterctl complexity set` where `bd` is not available.\n"
    "# task id: level (trivial, simple, medium, complex, expert). A task's own metadata.complexity\n"
    "# and complexity:LEVEL label take precedence over this file.\n"
)


def overrides_path(ws: Workspace) -> Path:
    return ws.cloister_dir / "complexity.yaml"


def read_overrides(ws: Workspace) -> dict[str, str]:
    path = overrides_path(ws)
    if not path.exists():
        return {}
    import yaml

    try:
        _node, data = yamltext.load(path.read_text(encoding="utf-8"))
    except yamltext.YamlLimit as exc:
        where = f":{exc.line}" if exc.line else ""
        raise CloisterError(f".cloister/complexity.yaml{where}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise CloisterError(f".cloister/complexity.yaml{where}: invalid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CloisterError(".cloister/complexity.yaml: must map task ids to levels")
    return {str(task): str(level) for task, level in data.items()}


def write_override(ws: Workspace, task_id: str, level: str, timeout: float) -> None:
    import yaml

    with locked(ws.lock_path, timeout, what="the workspace"):
        current = read_overrides(ws)
        current[task_id] = level
        body = yaml.safe_dump(dict(sorted(current.items())), default_flow_style=False, sort_keys=False)
        atomic_write_text(overrides_path(ws), OVERRIDES_HEADER + body)
