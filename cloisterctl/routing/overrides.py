"""Explicit complexity levels set without `bd`: ``.cloister/complexity.yaml`` (committed)."""

from __future__ import annotations

from pathlib import Path

from cloisterctl.errors import CloisterError, UnsafeFileError
from cloisterctl.files import yamltext
from cloisterctl.files.atomic import atomic_write_text
from cloisterctl.files.locking import locked
from cloisterctl.files.safeopen import CONFIG_CAP, read_capped
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
    import yaml

    try:
        _node, data = yamltext.load(read_capped(path, CONFIG_CAP * 4).decode("utf-8"))
    except FileNotFoundError:
        return {}
    except UnsafeFileError as exc:
        raise CloisterError(f".cloister/complexity.yaml: {exc.reason}") from None
    except UnicodeDecodeError:
        raise CloisterError(".cloister/complexity.yaml: not UTF-8 text") from None
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
