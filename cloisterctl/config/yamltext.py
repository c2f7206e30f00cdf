"""Reading YAML text with line numbers: the one loader every config and front-matter read goes through."""

from __future__ import annotations

from typing import Any


def loader_class(yaml: Any) -> Any:
    """libyaml's C loader when PyYAML was built with it (several times faster), else the Python one."""
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)
