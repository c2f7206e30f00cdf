"""`cloisterctl schedule`: run `tick --all` every few minutes from cron or a systemd user timer.

No daemon of our own: the schedule is a crontab line or a service + timer pair, printed for review
or, with ``--install``, written (crontab through the `crontab` command; systemd units into
``~/.config/systemd/user``).
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cloisterctl.errors import CloisterError, ToolError
from cloisterctl.state.fsio import atomic_write_text


def parse_every(text: str) -> int:
    """'1m', '5m', '1h', '90s' -> whole minutes (cron's and our resolution)."""
    match = re.fullmatch(r"\s*(\d+)\s*([smh]?)\s*", text)
    if not match:
        raise CloisterError(f"--every {text!r}: give a number with s, m or h (e.g. 1m, 5m, 1h)")
    number, unit = int(match.group(1)), match.group(2) or "m"
    minutes = {"s": number / 60, "m": number, "h": number * 60}[unit]
    if minutes < 1 or minutes != int(minutes):
        raise CloisterError(f"--every {text!r}: cron and the timer here run in whole minutes, at least 1m")
    return int(minutes)


def _tick_argv() -> list[str]:
    return [sys.executable, "-m", "cloisterctl", "tick", "--all"]


def unit_name(workspace: Path) -> str:
    return f"cloisterctl-tick-{hashlib.sha1(str(workspace).encode()).hexdigest()[:8]}"


def cron_schedule(minutes: int) -> str:
    if minutes < 60:
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    if minutes % 60 == 0 and minutes < 24 * 60:
        return f"0 */{minutes // 60} * * *"
    raise CloisterError("cron can run this every N minutes (< 60) or every N hours (< 24)")


def cron_line(workspace: Path, minutes: int, log: Path) -> str:
    command = " ".join(shlex.quote(part) for part in _tick_argv())
    return (
        f"{cron_schedule(minutes)} cd {shlex.quote(str(workspace))} && {command} "
        f">> {shlex.quote(str(log))} 2>&1  # {unit_name(workspace)}"
    )


@dataclass
class SystemdUnits:
    name: str
    service: str
    timer: str


def systemd_units(workspace: Path, minutes: int) -> SystemdUnits:
    name = unit_name(workspace)
    exec_start = " ".join(_systemd_quote(part) for part in _tick_argv())
    service = (
        "[Unit]\n"
        f"Description=cloisterctl tick for {workspace}\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"WorkingDirectory={workspace}\n"
        f"ExecStart={exec_start}\n"
    )
    timer = (
        "[Unit]\n"
        f"Description=Run cloisterctl tick every {minutes} min for {workspace}\n"
        "\n"
        "[Timer]\n"
        f"OnBootSec={minutes}min\n"
        f"OnUnitActiveSec={minutes}min\n"
        "AccuracySec=10s\n"
        "Persistent=true\n"
        "\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )
    return SystemdUnits(name, service, timer)


def _systemd_quote(part: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_@%+=:,./-]+", part):
        return part
    return '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"'


def install_cron(workspace: Path, minutes: int, log: Path) -> str:
    crontab = shutil.which("crontab")
    if crontab is None:
        raise ToolError("`crontab` is not installed; install cron, or use --systemd")
    current = subprocess.run([crontab, "-l"], capture_output=True, text=True, check=False)
    existing = current.stdout if current.returncode == 0 else ""
    marker = f"# {unit_name(workspace)}"
    kept = [line for line in existing.splitlines() if not line.rstrip().endswith(marker)]
    line = cron_line(workspace, minutes, log)
    log.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [crontab, "-"], input="\n".join([*kept, line]) + "\n", text=True, capture_output=True, check=False
    )
    if result.returncode != 0:
        raise ToolError(f"`crontab -` failed: {result.stderr.strip()}")
    return line


def systemd_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def install_systemd(workspace: Path, minutes: int) -> list[Path]:
    units = systemd_units(workspace, minutes)
    directory = systemd_dir()
    written = []
    for suffix, text in ((".service", units.service), (".timer", units.timer)):
        path = directory / f"{units.name}{suffix}"
        atomic_write_text(path, text)
        written.append(path)
    return written


def default_log() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cloisterctl" / "tick.log"
