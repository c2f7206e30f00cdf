from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cloisterctl import __version__
from testing.helpers import REPO_ROOT, run


def test_version() -> None:
    for flag in ("--version", "-V"):
        result = run(Path("."), flag)
        assert result.exit_code == 0 and result.output == f"cloisterctl {__version__}\n"


def test_usage_errors_exit_2(repo: Path) -> None:
    assert run(repo, "no-such-command").exit_code == 2
    assert run(repo, "status", "--bogus").exit_code == 2


def test_every_command_has_help() -> None:
    from cloisterctl.cli.app import cli

    def walk(group: object, path: list[str]) -> list[list[str]]:
        import click

        found = [path]
        if isinstance(group, click.Group):
            for name, command in group.commands.items():
                found += walk(command, [*path, name])
        return found

    for path in walk(cli, []):
        result = run(Path("."), *path, "--help")
        assert result.exit_code == 0, path
        assert "Usage:" in result.output


def test_dash_c_runs_elsewhere(workspace: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cloisterctl", "-C", str(workspace), "status"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "agent          repo" in result.stdout


def test_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cloisterctl", "-C", str(tmp_path / "nope"), "status"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "does not exist" in result.stderr


@pytest.mark.slow
def test_an_installed_wheel_works_outside_the_source_tree(tmp_path: Path, repo: Path) -> None:
    """The template ships inside the wheel: init works from an installed package, away from the checkout."""
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO_ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("cloisterctl-*.whl"))
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "cloisterctl/templates/STATE.md.j2" in names
    assert "cloisterctl/templates/config.yaml" in names
    assert "cloisterctl/hook_scripts/beads-hook-section.sh" in names
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--no-deps", str(wheel)], check=True, capture_output=True
    )
    # The dependencies come from this environment, without its cloisterctl: a .pth line adds a
    # directory to sys.path after the venv's own site-packages.
    import click
    import filelock
    import jinja2
    import yaml

    dirs = {str(Path(m.__file__).resolve().parent.parent) for m in (click, filelock, jinja2, yaml)}
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "deps.pth").write_text("\n".join(sorted(dirs)) + "\n")
    result = subprocess.run(
        [str(venv / "bin" / "cloisterctl"), "-C", str(repo), "init"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert (repo / "STATE.md").read_text().startswith("---\n# The `cloister:` block below")
    located = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import cloisterctl.files.resources as r; print(r.resource('templates', 'STATE.md.j2'))",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert str(venv) in located.stdout


def test_an_unwritable_workspace_is_a_one_line_error(repo: Path) -> None:
    import os

    if os.geteuid() == 0:
        # root ignores permission bits: make the path a file where a directory must go instead
        (repo / ".cloister").write_text("not a directory")
    else:
        repo.chmod(0o555)
    try:
        result = run(repo, "init")
    finally:
        repo.chmod(0o755)
    assert result.exit_code == 1
    assert result.output.startswith("cloisterctl: error: ") and result.output.count("\n") == 1
    assert "Traceback" not in result.output
