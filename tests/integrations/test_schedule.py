from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cloisterctl.integrations.schedule import cron_command, cron_line, on_calendar
from testing.helpers import crontab_stand_in, run


def test_cron_line_by_content(workspace: Path) -> None:
    result = run(workspace, "schedule", "--cron", "--every", "5m", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    line = data["line"]
    log = workspace / ".cloister" / "local" / "tick.log"
    assert data["log"] == str(log)
    assert line.startswith(f"*/5 * * * * cd {workspace} && mkdir -p {log.parent} && PATH=")
    assert f" HOME={shlex.quote(os.environ['HOME'])} " in line
    assert f"{sys.executable} -m cloisterctl tick --all >> {log} 2>&1  # cloisterctl-tick-" in line
    assert run(workspace, "schedule", "--cron").output.startswith("* * * * * cd ")
    assert json.loads(run(workspace, "schedule", "--cron", "--every", "2h", "--json").output)["line"].startswith(
        "0 */2 * * * "
    )


def test_a_pasted_cron_line_runs_under_an_empty_environment(workspace: Path, tmp_path: Path) -> None:
    """What cron does with the line: sh -c with almost nothing set (here: nothing at all)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "agent-cli").write_text("#!/bin/sh\nexit 0\n")
    (bindir / "agent-cli").chmod(0o755)
    path = f"{bindir}{os.pathsep}{os.environ['PATH']}"
    line = cron_line(workspace, 1, {**os.environ, "PATH": path, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    shutil.rmtree(workspace / ".cloister" / "local")  # a fresh clone has none: the line makes it
    done = subprocess.run(["env", "-i", "sh", "-c", cron_command(line)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    log = (workspace / ".cloister" / "local" / "tick.log").read_text()
    assert f"{workspace}: " in log and "error" not in log.lower(), log
    # The environment tick got: the PATH the agent CLI is on, the HOME and caches it was set up with.
    assert shutil.which("agent-cli", path=cron_env(line)["PATH"]) == str(bindir / "agent-cli")
    assert (tmp_path / "cache" / "cloisterctl" / "workspaces").is_dir()


def cron_env(line: str) -> dict[str, str]:
    words = shlex.split(cron_command(line).split(" && ", 2)[2])
    return dict(word.split("=", 1) for word in words if "=" in word and not word.startswith("-"))


@pytest.mark.parametrize("every", ["30s", "1.5m", "abc", "0m"])
def test_bad_intervals(workspace: Path, every: str) -> None:
    result = run(workspace, "schedule", "--cron", "--every", every)
    assert result.exit_code == 1 and "--every" in result.output


def test_systemd_units_printed_and_installed(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = json.loads(run(workspace, "schedule", "--systemd", "--every", "2m", "--json").output)
    assert "[Service]\nType=oneshot\n" in data["service"]
    assert f"WorkingDirectory={workspace}\n" in data["service"]
    assert f"ExecStart={sys.executable} -m cloisterctl tick --all\n" in data["service"]
    assert f"Environment=PATH={os.environ['PATH']}\n" in data["service"] or 'Environment="PATH=' in data["service"]
    assert f"Environment=HOME={os.environ['HOME']}\n" in data["service"]
    # Persistent= only works with OnCalendar (a run missed while asleep happens on waking).
    assert "OnCalendar=*-*-* *:00/2:00\n" in data["timer"] and "Persistent=true\n" in data["timer"]
    assert "OnUnitActiveSec" not in data["timer"] and "WantedBy=timers.target" in data["timer"]
    assert any("loginctl enable-linger" in hint for hint in data["hints"])
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    result = run(workspace, "schedule", "--systemd", "--install")
    assert result.exit_code == 0
    units = sorted(p.name for p in (tmp_path / "xdg" / "systemd" / "user").iterdir())
    assert units == [f"{data['unit']}.service", f"{data['unit']}.timer"]
    assert "systemctl --user enable --now" in result.output and "loginctl enable-linger" in result.output


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("minutes", [1, 5, 120])
def test_the_timers_calendar_is_one_systemd_accepts(minutes: int) -> None:
    expression = on_calendar(minutes)
    checked = subprocess.run(["systemd-analyze", "calendar", expression], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_systemd_remove(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    user = tmp_path / "xdg" / "systemd" / "user"
    assert (
        "no systemd schedule of this workspace to remove" in run(workspace, "schedule", "--systemd", "--remove").output
    )
    assert run(workspace, "schedule", "--systemd", "--install").exit_code == 0
    name = json.loads(run(workspace, "schedule", "--systemd", "--json").output)["unit"]
    (user / "timers.target.wants").mkdir()
    (user / "timers.target.wants" / f"{name}.timer").symlink_to(user / f"{name}.timer")  # as `enable` leaves it
    (user / "other.timer").write_text("[Timer]\n")
    removed = json.loads(run(workspace, "schedule", "--systemd", "--remove", "--json").output)
    assert len(removed["removed"]) == 3 and "systemctl --user daemon-reload" in removed["hints"][0]
    assert sorted(p.name for p in user.rglob("*")) == ["other.timer", "timers.target.wants"]


def test_cron_install_replaces_its_own_line(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cron_bin, table = crontab_stand_in(tmp_path, "0 3 * * * backup.sh\n")
    monkeypatch.setenv("PATH", f"{cron_bin}{os.pathsep}{os.environ['PATH']}")
    assert run(workspace, "schedule", "--cron", "--install").exit_code == 0
    assert run(workspace, "schedule", "--cron", "--every", "3m", "--install").exit_code == 0
    lines = table.read_text().splitlines()
    assert lines[0] == "0 3 * * * backup.sh" and len(lines) == 2 and lines[1].startswith("*/3 * * * * ")
    removed = json.loads(run(workspace, "schedule", "--cron", "--remove", "--json").output)
    assert removed["removed"] == [lines[1]]
    assert table.read_text().splitlines() == ["0 3 * * * backup.sh"]
    assert "no cron schedule of this workspace to remove" in run(workspace, "schedule", "--cron", "--remove").output


def test_cron_install_without_crontab(workspace: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    result = run(workspace, "schedule", "--cron", "--install")
    assert result.exit_code == 1 and "`crontab` is not installed" in result.output


def test_schedule_needs_a_kind(workspace: Path) -> None:
    assert run(workspace, "schedule").exit_code == 2
