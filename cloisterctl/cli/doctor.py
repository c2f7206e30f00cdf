"""`cloisterctl doctor`: what works here and what does not, each with how to fix it."""

from __future__ import annotations

from typing import Any

import click

from cloisterctl.cli.app import Env, emit, json_option, pass_env


def render_doctor(data: dict[str, Any]) -> str:
    """One line per check (its status word, name and what was found), and under each that is not ok
    one line saying how to fix it; -q leaves out the checks that are ok."""
    from cloisterctl.cli import style

    checks = [check for check in data["checks"] if not (style.quiet() and check["level"] == "ok")]
    width = max((len(check["name"]) for check in checks), default=0)
    lines = []
    for check in checks:
        word = style.paint(f"{check['level']:<7}", check["level"])
        lines.append(f"{word}  {check['name']:<{width}}  {check['detail']}")
        if check["fix"]:
            lines.append(f"{'':<7}  {'':<{width}}  fix: {check['fix']}")
    counts = [f"{data[key]} {key if data[key] != 1 else key[:-1]}" for key in ("problems", "warnings") if data[key]]
    lines.append(", ".join(counts) if counts else f"all {style.word('ok')}")
    return "\n".join(lines)


@click.command()
@json_option
@pass_env
def doctor(env: Env, as_json: bool) -> int:
    """Check what cloisterctl needs here: the tools tick runs (on the PATH it will have), the hooks
    (pre-commit, beads, Claude Code, the statusline), the merge driver, the schedule and when tick
    last ran, the config, the transcripts and the ledger. Exit 1 when anything is a problem."""
    from cloisterctl.doctor.gather import run_doctor
    from cloisterctl.doctor.verdicts import PROBLEM, WARNING, exit_code

    checks = run_doctor(env.directory)
    data = {
        "ok": exit_code(checks) == 0,
        "problems": sum(check.level == PROBLEM for check in checks),
        "warnings": sum(check.level == WARNING for check in checks),
        "checks": [check.as_dict() for check in checks],
    }
    emit(data, as_json, render_doctor)
    return exit_code(checks)
