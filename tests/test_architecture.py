"""The architecture holds: the layer contract, module and function sizes, one error module, tests
that import no other test module."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

from testing.helpers import REPO_ROOT

PACKAGE = REPO_ROOT / "cloisterctl"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
MAX_MODULE_LINES = 600  # where one concept's rules fit in one file
MAX_FUNCTION_LINES = 80


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_layer_contract_is_kept() -> None:
    result = lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_package_is_in_the_layers() -> None:
    """A new package cannot escape the contract: each one under the root is a layer (or part of one)."""
    import tomllib

    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    layers = next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")["layers"]
    listed = {name.strip() for layer in layers for name in layer.split("|")}
    present = {f"cloisterctl.{p.parent.name}" for p in PACKAGE.glob("*/__init__.py")}
    present |= {f"cloisterctl.{p.stem}" for p in PACKAGE.glob("*.py") if not p.name.startswith("__")}
    assert present - listed == set()


def _planted(tmp_path: Path, module: str, line: str) -> subprocess.CompletedProcess[str]:
    """lint-imports on a copy of the package where ``module`` (a path under it) gained ``line``."""
    shutil.copytree(PACKAGE, tmp_path / "cloisterctl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "cloisterctl" / module
    target.write_text(target.read_text() + f"\n{line}  # noqa: E402,F401\n")
    return lint_imports(tmp_path)


def test_a_package_that_imports_one_above_it_breaks_the_contract(tmp_path: Path) -> None:
    result = _planted(tmp_path, "ledger/store.py", "from cloisterctl.routing import router")
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and "cloisterctl.ledger.store -> cloisterctl.routing.router" in result.stdout


def test_a_pure_rule_that_does_file_io_breaks_the_contract(tmp_path: Path) -> None:
    result = _planted(tmp_path, "routing/economics.py", "from cloisterctl.files import atomic")
    assert result.returncode != 0
    assert "pure rules and records do no I/O" in result.stdout
    assert "cloisterctl.routing.economics -> cloisterctl.files.atomic" in result.stdout


def test_a_pure_rule_that_starts_a_process_breaks_the_contract(tmp_path: Path) -> None:
    result = _planted(tmp_path, "ledger/fold.py", "import subprocess")
    assert result.returncode != 0
    assert "pure rules and records do no I/O" in result.stdout and "BROKEN" in result.stdout


def vulture(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("vulture"))],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_no_dead_code() -> None:
    result = vulture(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_dead_function_is_found(tmp_path: Path) -> None:
    shutil.copytree(PACKAGE, tmp_path / "cloisterctl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO_ROOT / "testing", tmp_path / "testing", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    rule = tmp_path / "cloisterctl" / "routing" / "economics.py"
    rule.write_text(rule.read_text() + "\n\ndef forgotten() -> None:\n    pass\n")
    result = vulture(tmp_path)
    assert result.returncode != 0 and "economics.py" in result.stdout and "'forgotten'" in result.stdout


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_is_too_long() -> None:
    long = {
        str(p.relative_to(REPO_ROOT)): n
        for p in _modules()
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_function_is_too_long() -> None:
    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(REPO_ROOT)}:{node.name}"] = length
    assert long == {}


def test_every_error_class_is_in_the_errors_module() -> None:
    elsewhere = []
    for path in _modules():
        if path == PACKAGE / "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(base, ast.Name) and (base.id.endswith("Error") or base.id == "Exception")
                for base in node.bases
            ):
                elsewhere.append(f"{path.relative_to(REPO_ROOT)}:{node.name}")
    assert elsewhere == []


def test_no_test_module_imports_another() -> None:
    offenders = []
    for path in sorted((REPO_ROOT / "tests").rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("tests")):
                offenders.append(f"{path.relative_to(REPO_ROOT)}: from {'.' * node.level}{node.module or ''}")
    assert offenders == []
