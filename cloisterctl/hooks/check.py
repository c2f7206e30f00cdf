"""`cloisterctl hook check [FILES]`: the pre-commit `cloister-check` hook.

Validates STATE.md's front matter and `.cloister/config.yaml`; a problem fails the commit with a
one-line message naming the file, line and key.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def check_hook(files: list[str]) -> int:
    from cloisterctl.config.layers import collect_layers
    from cloisterctl.config.validate import validate_layers
    from cloisterctl.errors import CloisterError
    from cloisterctl.ledger.statefile import read

    root = Path(os.getcwd())
    problems: list[str] = []
    wanted = {Path(f).as_posix() for f in files} or {"STATE.md", ".cloister/config.yaml"}
    if "STATE.md" in wanted and (root / "STATE.md").exists():
        try:
            read(root / "STATE.md")
        except CloisterError as exc:
            problems.append(str(exc))
    if ".cloister/config.yaml" in wanted and (root / ".cloister" / "config.yaml").exists():
        try:
            layers, found = collect_layers(root / ".cloister" / "config.yaml", environ={})
            problems += [str(p) for p in found + validate_layers(layers)]
            for layer in layers:  # a symlinked or special config is read as absent: say so
                for warning in layer.warnings:
                    print(f"cloister-check: warning: {warning}", file=sys.stderr)
        except CloisterError as exc:
            problems.append(str(exc))
    for problem in problems:
        print(f"cloister-check: {problem}", file=sys.stderr)
    return 1 if problems else 0
