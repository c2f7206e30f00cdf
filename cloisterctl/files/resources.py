"""Files shipped with cloisterctl: the STATE.md template, the config template, hook scripts.

In a wheel they sit inside the package (``cloisterctl/templates``, ``cloisterctl/hook_scripts``);
in a source checkout they are the top-level ``templates/`` and ``hooks/`` directories.
"""

from __future__ import annotations

from pathlib import Path

from cloisterctl.errors import CloisterError

_PACKAGE = Path(__file__).resolve().parent.parent  # cloisterctl/
_LOCATIONS = {
    "templates": (_PACKAGE / "templates", _PACKAGE.parent / "templates"),
    "hooks": (_PACKAGE / "hook_scripts", _PACKAGE.parent / "hooks"),
}


def resource(kind: str, name: str) -> Path:
    for directory in _LOCATIONS[kind]:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    raise CloisterError(f"installation is missing {kind}/{name}; reinstall cloisterctl")


def read_resource(kind: str, name: str) -> str:
    return resource(kind, name).read_text(encoding="utf-8")
