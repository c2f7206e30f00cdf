"""`cloisterctl schedule`: run `tick --all` every few minutes from cron or a systemd user timer.

No daemon of our own: the schedule is a crontab line or a service + timer pair, printed for review
or, with ``--install``, written (crontab through the `crontab` command; systemd units into
``~/.config/systemd/user``), and with ``--remove`` taken out again.

cron and systemd start commands with an environment of their own (cron's PATH is /usr/bin:/bin),
so both carry the one tick needs (``tick_env``): the PATH it was set up from (where `claude`,
`tmux`, `bd` and git are), HOME, and the XDG, Claude Code and tmux-socket variables when they are
set. The cron line logs to the workspace's ``.cloister/local/tick.log``, creating the directory
first; the systemd service logs to the journal. The timer is ``OnCalendar`` with
``Persistent=true``, so runs missed while the machine slept happen when it wakes.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cloisterctl.errors import CloisterError, ToolError
from cloisterctl.files.atomic import atomic_write_text


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


# Besides PATH and HOME: what tick reads when set (caches, trust store, transcripts, the tmux server).
CARRIED_ENV = (
    "XDG_CACHE_HOME",
    "XDG_STATE_HOME",
    "XDG_CONFIG_HOME",
    "CLAUDE_CONFIG_DIR",
    "CLOISTER_TMUX_SOCKET",
    "TMUX_TMPDIR",
)


def _tick_argv() -> list[str]:
    return [sys.executable, "-m", "cloisterctl", "tick", "--all"]


def tick_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a scheduled tick gets: this one's PATH and HOME, and what tick reads."""
    env = os.environ if environ is None else environ
    found = {"PATH": env.get("PATH") or os.defpath, "HOME": env.get("HOME") or str(Path.home())}
    found.update({name: env[name] for name in CARRIED_ENV if env.get(name)})
    return found


def tick_log(workspace: Path) -> Path:
    return workspace / ".cloister" / "local" / "tick.log"


def unit_name(workspace: Path) -> str:
    return f"cloisterctl-tick-{hashlib.sha1(str(workspace).encode()).hexdigest()[:8]}"


def cron_schedule(minutes: int) -> str:
    if minutes < 60:
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    if minutes % 60 == 0 and minutes < 24 * 60:
        return f"0 */{minutes // 60} * * *"
    raise CloisterError("cron can run this every N minutes (< 60) or every N hours (< 24)")


def cron_line(workspace: Path, minutes: int, env: Mapping[str, str] | None = None) -> str:
    """The crontab line: a shell command (cron runs it with sh), ``%`` escaped as cron needs."""
    log = tick_log(workspace)
    assignments = " ".join(f"{name}={shlex.quote(value)}" for name, value in tick_env(env).items())
    command = (
        f"cd {shlex.quote(str(workspace))} && mkdir -p {shlex.quote(str(log.parent))} && "
        f"{assignments} {' '.join(shlex.quote(part) for part in _tick_argv())} >> {shlex.quote(str(log))} 2>&1"
    )
    return f"{cron_schedule(minutes)} {command.replace('%', chr(92) + '%')}  # {unit_name(workspace)}"


def cron_command(line: str) -> str:
    """What cron hands to sh for a line of ours: the command after the five time fields, with cron's
    ``\\%`` turned back into ``%`` (and its trailing marker comment, which sh ignores, kept)."""
    command = line.split(None, 5)[5]
    return command.replace(chr(92) + "%", "%")


@dataclass
class SystemdUnits:
    name: str
    service: str
    timer: str


def on_calendar(minutes: int) -> str:
    """The timer's calendar expression for every ``minutes`` (on the clock, like cron's */N)."""
    if minutes < 60:
        return "*-*-* *:*:00" if minutes == 1 else f"*-*-* *:00/{minutes}:00"
    if minutes % 60 == 0 and minutes < 24 * 60:
        return f"*-*-* 00/{minutes // 60}:00:00"
    raise CloisterError("the timer can run this every N minutes (< 60) or every N hours (< 24)")


def systemd_units(workspace: Path, minutes: int, env: Mapping[str, str] | None = None) -> SystemdUnits:
    name = unit_name(workspace)
    exec_start = " ".join(_systemd_quote(part) for part in _tick_argv())
    # systemd expands %-specifiers in these settings: a literal % is written %%.
    environment = "".join(
        f"Environment={_systemd_quote(f'{k}={v}')}\n".replace("%", "%%") for k, v in tick_env(env).items()
    )
    service = (
        "[Unit]\n"
        f"Description=cloisterctl tick for {workspace}\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"WorkingDirectory={workspace}\n"
        f"{environment}"
        f"ExecStart={exec_start}\n"
    )
    timer = (
        "[Unit]\n"
        f"Description=Run cloisterctl tick every {minutes} min for {workspace}\n"
        "\n"
        "[Timer]\n"
        f"OnCalendar={on_calendar(minutes)}\n"
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


def _crontab() -> tuple[str, list[str]]:
    crontab = shutil.which("crontab")
    if crontab is None:
        raise ToolError("`crontab` is not installed; install cron, or use --systemd")
    current = subprocess.run([crontab, "-l"], capture_output=True, text=True, check=False)
    return crontab, (current.stdout if current.returncode == 0 else "").splitlines()


def _write_crontab(crontab: str, lines: list[str]) -> None:
    text = "".join(line + "\n" for line in lines)
    result = subprocess.run([crontab, "-"], input=text, text=True, capture_output=True, check=False)
    if result.returncode != 0:
        raise ToolError(f"`crontab -` failed: {result.stderr.strip()}")


def _ours(workspace: Path, line: str) -> bool:
    return line.rstrip().endswith(f"# {unit_name(workspace)}")


def install_cron(workspace: Path, minutes: int) -> str:
    crontab, existing = _crontab()
    line = cron_line(workspace, minutes)
    tick_log(workspace).parent.mkdir(parents=True, exist_ok=True)
    _write_crontab(crontab, [*(old for old in existing if not _ours(workspace, old)), line])
    return line


def remove_cron(workspace: Path) -> list[str]:
    """Take this workspace's line out of the crontab; returns the lines removed."""
    crontab, existing = _crontab()
    removed = [line for line in existing if _ours(workspace, line)]
    if removed:
        _write_crontab(crontab, [line for line in existing if not _ours(workspace, line)])
    return removed


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


def remove_systemd(workspace: Path) -> list[Path]:
    """Remove this workspace's unit files and the timer's enablement link; returns what was removed."""
    name = unit_name(workspace)
    directory = systemd_dir()
    candidates = [
        directory / "timers.target.wants" / f"{name}.timer",
        directory / f"{name}.timer",
        directory / f"{name}.service",
    ]
    removed = []
    for path in candidates:
        if path.is_symlink() or path.exists():
            path.unlink()
            removed.append(path)
    return removed
