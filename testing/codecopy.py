"""A copy of cloisterctl with one module edited, run as another version of the code would run: its
caches and checkpoints must not be taken for this code's, nor this code's for its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from testing.helpers import REPO_ROOT

HARMLESS = "\n\ndef _edited() -> None:\n    pass  # changes no behaviour, only the source\n"


def edited_copy(target: Path, module: str, old: str = "", new: str = HARMLESS) -> Path:
    """Copy the package (and the templates and hook scripts it ships) to ``target`` and, in
    ``module`` (a path under ``cloisterctl/``), replace ``old`` (found exactly once) by ``new``, or
    without ``old`` append ``new`` (by default a function nothing calls)."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO_ROOT / "cloisterctl", target / "cloisterctl", ignore=ignore)
    for shipped in ("templates", "hooks"):
        shutil.copytree(REPO_ROOT / shipped, target / shipped, ignore=ignore)
    path = target / "cloisterctl" / module
    source = path.read_text()
    if old:
        assert source.count(old) == 1, f"{old!r} is not once in {module}"
        path.write_text(source.replace(old, new))
    else:
        path.write_text(source + new)
    assert copy_eval(target, "cloisterctl.__file__") == str(target / "cloisterctl" / "__init__.py")
    return target


def _run(copy: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    # Started in the copy, with it on the path: `python -m` and `-c` put the current directory first.
    env = {**os.environ, "PYTHONPATH": str(copy)}
    done = subprocess.run(argv, cwd=copy, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{argv} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


def copy_cli(copy: Path, workspace: Path, *args: str) -> str:
    """`cloisterctl -C workspace ARGS` run by the copy; its stdout."""
    return _run(copy, [sys.executable, "-m", "cloisterctl", "-C", str(workspace), *args]).stdout


def copy_python(copy: Path, program: str, *args: str) -> str:
    """``program`` run with ``args`` by the code of ``copy`` (``REPO_ROOT``: this code); its stdout."""
    return _run(copy, [sys.executable, "-c", program, *args]).stdout


def copy_eval(copy: Path, expression: str, *imports: str) -> str:
    """``expression`` evaluated by the copy (after ``import`` of each of ``imports``), as printed."""
    program = "".join(f"import {name}\n" for name in ("cloisterctl", *imports)) + f"print({expression})\n"
    return _run(copy, [sys.executable, "-c", program]).stdout.strip()
