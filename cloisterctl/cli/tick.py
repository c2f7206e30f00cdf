"""`cloisterctl tick`, `schedule`, `approve` and `reject`."""

from __future__ import annotations

from typing import Any

import click

from cloisterctl.cli.app import Env, emit, json_option, pass_env, safe_name


@click.command()
@click.option("--all", "every", is_flag=True, help="Every workspace: git worktrees of this repo and tick.workspaces.")
@click.option("--dry-run", is_flag=True, help="Say what would be decided; write nothing.")
@json_option
@pass_env
def tick(env: Env, every: bool, dry_run: bool, as_json: bool) -> int:
    """One pass: take in usage and activity, evaluate triggers, advance handoffs, refresh STATE.md,
    and commit the decisions. Cron-able; safe to run twice."""
    from cloisterctl.cli.render import render_tick
    from cloisterctl.tick.run import tick as run_tick

    ctx = env.context()
    reports = [r.as_dict() for r in run_tick(ctx.ws, every=every, dry_run=dry_run, clock=ctx.clock)]
    return emit(reports, as_json, render_tick, chatter=True)


LINGER_HINT = (
    "user timers run only while you are logged in; to keep them running after you log out: loginctl enable-linger $USER"
)


@click.command()
@click.option("--cron", "kind", flag_value="cron", help="A crontab line.")
@click.option("--systemd", "kind", flag_value="systemd", help="A systemd user service and timer.")
@click.option("--every", default="1m", show_default=True, metavar="INTERVAL", help="How often (e.g. 1m, 5m, 1h).")
@click.option("--install", is_flag=True, help="Write it (crontab, or ~/.config/systemd/user) instead of printing it.")
@click.option("--remove", is_flag=True, help="Take this workspace's schedule out again (crontab line, or unit files).")
@json_option
@pass_env
def schedule(env: Env, kind: str | None, every: str, install: bool, remove: bool, as_json: bool) -> int:
    """Print (or install, or remove) a schedule that runs `cloisterctl tick --all` here.

    It sets the PATH (and HOME, XDG and Claude Code variables) of this shell, so the agent CLI,
    tmux and bd are found; the cron line logs to .cloister/local/tick.log."""
    from cloisterctl.integrations import schedule as sched

    if kind is None:
        raise click.UsageError("choose --cron or --systemd")
    if install and remove:
        raise click.UsageError("--install and --remove exclude each other")
    ws = env.context().ws
    if remove:
        return _remove_schedule(ws.root, kind, as_json)
    minutes = sched.parse_every(every)
    if kind == "cron":
        line = sched.install_cron(ws.root, minutes) if install else sched.cron_line(ws.root, minutes)
        data: dict[str, Any] = {"kind": "cron", "line": line, "installed": install, "log": str(sched.tick_log(ws.root))}
        return emit(data, as_json, lambda d: d["line"] + ("\ninstalled in your crontab" if d["installed"] else ""))
    units = sched.systemd_units(ws.root, minutes)
    written = [str(p) for p in sched.install_systemd(ws.root, minutes)] if install else []
    data = {
        "kind": "systemd",
        "unit": units.name,
        "service": units.service,
        "timer": units.timer,
        "installed": written,
        "hints": [
            f"enable it: systemctl --user daemon-reload && systemctl --user enable --now {units.name}.timer",
            f"its log: journalctl --user -u {units.name}.service",
            LINGER_HINT,
        ],
    }

    def render(d: dict[str, Any]) -> str:
        if d["installed"]:
            return "\n".join([f"wrote {path}" for path in d["installed"]] + d["hints"])
        hints = "\n".join(f"# {hint}" for hint in d["hints"])
        return f"# {d['unit']}.service\n{d['service']}\n# {d['unit']}.timer\n{d['timer']}\n{hints}"

    return emit(data, as_json, render)


def _remove_schedule(root: Any, kind: str, as_json: bool) -> int:
    from cloisterctl.integrations import schedule as sched

    removed = sched.remove_cron(root) if kind == "cron" else [str(p) for p in sched.remove_systemd(root)]
    data: dict[str, Any] = {"kind": kind, "removed": removed}
    if kind == "systemd" and removed:
        data["hints"] = [f"then: systemctl --user daemon-reload && systemctl --user stop {sched.unit_name(root)}.timer"]

    def render(d: dict[str, Any]) -> str:
        if not d["removed"]:
            return f"no {d['kind']} schedule of this workspace to remove"
        what = "removed from your crontab: " if d["kind"] == "cron" else "removed "
        return "\n".join([what + str(item) for item in d["removed"]] + d.get("hints", []))

    return emit(data, as_json, render)


@click.command()
@click.argument("decision", callback=safe_name("decision id"))
@json_option
@pass_env
def approve(env: Env, decision: str, as_json: bool) -> int:
    """Apply a decision that waits for approval (handoffs.guards.require_approval)."""
    from cloisterctl.triggers.decisions import approve as run

    result = run(env.context(), decision)
    return emit(
        result,
        as_json,
        lambda d: (
            f"approved {d['decision']}: {d['summary']}" + (f"; handoff {d['handoff']} started" if d["handoff"] else "")
        ),
        chatter=True,
    )


@click.command()
@click.argument("decision", callback=safe_name("decision id"))
@click.option("--reason", metavar="TEXT", help="Why, for the ledger.")
@json_option
@pass_env
def reject(env: Env, decision: str, reason: str | None, as_json: bool) -> int:
    """Drop a decision that waits for approval; its cause will not fire again."""
    from cloisterctl.triggers.decisions import reject as run

    return emit(run(env.context(), decision, reason), as_json, lambda d: f"rejected {d['decision']}", chatter=True)
