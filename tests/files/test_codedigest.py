"""files.codedigest: the version of derived data is the digest of the source that shapes it, and no
module keeps a version of derived data by hand."""

from __future__ import annotations

import ast
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from cloisterctl.files import codedigest
from cloisterctl.workspace.layout import Workspace
from testing.helpers import REPO_ROOT

# Versions that are written by hand because they name a format other programs (or other releases)
# read, not data derived by our code: changing the code must not change them.
WIRE_FORMATS = {
    # The handoff packet's `handoff_version`: a documented format (PlanExe's names) that agents
    # and other tools read; it changes when the format does, by decision.
    ("handoff/packet.py", "HANDOFF_VERSION"),
    # The trust store (which config files the user approved, by hash): the user's decisions, kept
    # across upgrades; a digest of the code would forget every approval on each release.
    ("config/trust.py", "STORE_VERSION"),
}


def _package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **modules: str) -> str:
    """An importable package of ``modules`` (name: source), under a name no other test uses."""
    name = f"digested_{uuid.uuid4().hex[:8]}"
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("")
    for module, source in modules.items():
        (tmp_path / name / f"{module}.py").write_bytes(source.encode())
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_a_digest_is_of_the_sources_whatever_their_order_or_line_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = _package(tmp_path, monkeypatch, a="A = 1\nB = 2\n", b="C = 3\n")
    a, b = f"{package}.a", f"{package}.b"
    digest = codedigest.source_digest(a, b)
    assert len(digest) == codedigest.LENGTH and int(digest, 16) >= 0
    assert codedigest.source_digest(b, a, a) == digest
    assert a not in sys.modules and b not in sys.modules  # found, not imported (nothing of theirs ran)
    files = {a: tmp_path / package / "a.py", b: tmp_path / package / "b.py"}
    assert codedigest.file_digest({name: str(path) for name, path in files.items()}) == digest

    crlf = tmp_path / "crlf.py"  # the same source, checked out on Windows
    crlf.write_bytes(b"A = 1\r\nB = 2\r\n")
    assert codedigest.file_digest({a: str(crlf), b: str(files[b])}) == digest
    edited = tmp_path / "edited.py"
    edited.write_bytes(b"A = 1\nB = 2\n\n")  # one more line, nothing else
    assert codedigest.file_digest({a: str(edited), b: str(files[b])}) != digest
    assert codedigest.file_digest({a: str(files[b]), b: str(files[a])}) != digest  # which module is which counts
    assert codedigest.source_digest(a) != digest

    files[a].write_text("A = 2\n")
    assert codedigest.source_digest(a, b) == digest  # read once per process: a running program's code


def test_a_module_without_a_file_has_no_digest() -> None:
    with pytest.raises(ModuleNotFoundError):
        codedigest.source_digest("cloisterctl.no_such_module")


def _hand_kept_versions(path: Path) -> list[str]:
    """Names ending in VERSION bound to a literal number or string anywhere in the module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        value = getattr(node, "value", None)
        literal = isinstance(value, ast.Constant) and type(value.value) in (int, str)
        found += [t.id for t in targets if isinstance(t, ast.Name) and t.id.upper().endswith("VERSION") and literal]
    return found


def test_no_module_keeps_a_version_of_derived_data_by_hand() -> None:
    package = REPO_ROOT / "cloisterctl"
    found = {
        (path.relative_to(package).as_posix(), name)
        for path in sorted(package.rglob("*.py"))
        for name in _hand_kept_versions(path)
    }
    # Caches and checkpoints take theirs from the code (files.codedigest); only wire formats remain.
    assert found == WIRE_FORMATS


def test_the_check_finds_a_hand_kept_version(tmp_path: Path) -> None:
    planted = tmp_path / "cache.py"
    planted.write_text('CACHE_VERSION = 14  # bump when...\nclass Cache:\n    FORMAT_VERSION: str = "2"\n')
    assert _hand_kept_versions(planted) == ["CACHE_VERSION", "FORMAT_VERSION"]


def test_a_git_hook_computes_no_digest(workspace: Path) -> None:
    """Hooks run on every commit and tool call: no cache is read there, and no digest computed."""
    probe = (
        "import sys\n"
        "from cloisterctl.__main__ import main\n"
        "code = main(sys.argv[1:])\n"
        "loaded = [m for m in ('cloisterctl.files.codedigest', 'hashlib', 'importlib.util') if m in sys.modules]\n"
        "sys.stderr.write('IMPORTED=' + ','.join(loaded))\n"
        "raise SystemExit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, "hook", "git", "post-commit"],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stderr == "IMPORTED=", done.stderr
    assert "post-commit" in Workspace(workspace).signals_path.read_text()  # it did record the commit
