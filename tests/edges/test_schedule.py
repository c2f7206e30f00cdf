from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from testing.helpers import run


def test_cron_line_by_content(workspace: Path) -> None:
    result = run(workspace, "schedule", "--cron", "--every", "5m", "--json")
    assert result.exit_code == 0, result.output
    line = json.loads(result.output)["line"]
    assert line.startswith(f"*/5 * * * * cd {workspace} && {sys.executable} -m cloisterctl tick --all >> ")
    assert line.endswith("2>&1  # cloisterctl-tick-" + line.rsplit("cloisterctl-tick-", 1)[1])
    assert run(workspace, "schedule", "--cron").output.startswith("* * * * * cd ")
    assert json.loads(run(workspace, "schedule", "--cron", "--every", "2h", "--json").output)["line"].startswith(
        "0 */2 * * * "
    )


@pytest.mark.parametrize("every", ["30s", "1.5m", "abc", "0m"])
def test_bad_intervals(workspace: Path, every: str) -> None:
    result = run(workspace, "schedule", "--cron", "--every", every)
    assert result.exit_code == 1 and "--every" in result.output


def test_systemd_units_printed_and_installed(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = json.loads(run(workspace, "schedule", "--systemd", "--every", "2m", "--json").output)
    assert "[Service]\nType=oneshot\n" in data["service"]
    assert f"WorkingDirectory={workspace}\n" in data["service"]
    assert f"ExecStart={sys.executable} -m cloisterctl tick --all\n" in data["service"]
    assert "OnUnitActiveSec=2min\n" in data["timer"] and "WantedBy=timers.target" in data["timer"]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    result = run(workspace, "schedule", "--systemd", "--install")
    assert result.exit_code == 0
    units = sorted(p.name for p in (tmp_path / "xdg" / "systemd" / "user").iterdir())
    assert units == [f"{data['unit']}.service", f"{data['unit']}.timer"]
    assert "systemctl --user enable --now" in result.output


def test_cron_install_replaces_its_own_line(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No cron daemon here: a stand-in `crontab` keeps the table in a file, like `crontab -l` / `crontab -`.
    table = tmp_path / "crontab.txt"
    table.write_text("0 3 * * * backup.sh\n")
    stub = tmp_path / "bin" / "crontab"
    stub.parent.mkdir()
    stub.write_text(
        f"#!{sys.executable}\nimport sys, pathlib\np = pathlib.Path({str(table)!r})\n"
        "if sys.argv[1] == '-l':\n    sys.stdout.write(p.read_text())\nelse:\n    p.write_text(sys.stdin.read())\n"
    )
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{stub.parent}{os.pathsep}{os.environ['PATH']}")
    assert run(workspace, "schedule", "--cron", "--install").exit_code == 0
    assert run(workspace, "schedule", "--cron", "--every", "3m", "--install").exit_code == 0
    lines = table.read_text().splitlines()
    assert lines[0] == "0 3 * * * backup.sh" and len(lines) == 2 and lines[1].startswith("*/3 * * * * ")


def test_cron_install_without_crontab(workspace: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    result = run(workspace, "schedule", "--cron", "--install")
    assert result.exit_code == 1 and "`crontab` is not installed" in result.output


def test_schedule_needs_a_kind(workspace: Path) -> None:
    assert run(workspace, "schedule").exit_code == 2
