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
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 80


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_layer_contract_is_kept() -> None:
    result = lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_core_rule_that_imports_an_edge_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(PACKAGE, tmp_path / "cloisterctl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    rule = tmp_path / "cloisterctl" / "core" / "economics.py"
    rule.write_text(rule.read_text() + "\nfrom cloisterctl.edges import git  # noqa: E402,F401\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and "cloisterctl.core.economics -> cloisterctl.edges.git" in result.stdout


def test_a_pure_rule_that_starts_a_process_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(PACKAGE, tmp_path / "cloisterctl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    rule = tmp_path / "cloisterctl" / "core" / "fold.py"
    rule.write_text(rule.read_text() + "\nimport subprocess  # noqa: E402,F401\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "pure rules and records do no I/O" in result.stdout and "BROKEN" in result.stdout


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
