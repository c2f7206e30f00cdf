"""`cloisterctl test`, `install|uninstall beads-hooks|agent-hooks|statusline|subagents|git`, and `hook` (the hooks'
own entry)."""

from __future__ import annotations

import click

from cloisterctl.cli.app import Env, emit, json_option, pass_env


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@pass_env
def test(env: Env, command: tuple[str, ...]) -> int:
    """Run a test command (`cloisterctl test -- pytest -q`, or with none, the config's tests.command),
    record pass or fail, and exit with its code."""
    from cloisterctl.testruns.record import run_and_record, test_command

    ctx = env.context()
    return run_and_record(ctx, test_command(ctx, list(command)), source="cloisterctl test")


@click.group()
def install() -> None:
    """Install cloisterctl's hooks into beads or Claude Code (alongside any hooks already there), or
    this clone's STATE.md merge driver (git)."""


@click.group()
def uninstall() -> None:
    """Remove cloisterctl's hooks from beads or Claude Code, leaving other tools' hooks alone."""


def _report(data: object, as_json: bool) -> int:
    from dataclasses import asdict

    from cloisterctl.cli.render import render_install

    return emit(asdict(data), as_json, render_install, chatter=True)  # type: ignore[call-overload]


@install.command("beads-hooks")
@json_option
@pass_env
def install_beads_hooks(env: Env, as_json: bool) -> int:
    """.beads/hooks/on_create, on_update, on_close -> `cloisterctl hook beads` (chained with existing hooks)."""
    from cloisterctl.integrations.install import install_beads

    return _report(install_beads(env.context().ws), as_json)


@uninstall.command("beads-hooks")
@json_option
@pass_env
def uninstall_beads_hooks(env: Env, as_json: bool) -> int:
    """Remove cloisterctl's section from .beads/hooks/on_*."""
    from cloisterctl.integrations.install import uninstall_beads

    return _report(uninstall_beads(env.context().ws), as_json)


@install.command("agent-hooks")
@click.option(
    "--shared",
    is_flag=True,
    help="Write the committed .claude/settings.json (the whole team gets the hooks) instead of "
    "this clone's .claude/settings.local.json.",
)
@json_option
@pass_env
def install_agent_hooks(env: Env, shared: bool, as_json: bool) -> int:
    """Claude Code hooks (PostToolUse, Stop, SubagentStop, SessionStart -> `cloisterctl hook claude`)
    in .claude/settings.local.json, or with --shared in .claude/settings.json. They call
    `cloisterctl` by name and do nothing where it is not installed."""
    from cloisterctl.integrations.install import install_claude

    return _report(install_claude(env.context().ws, shared=shared), as_json)


@install.command("git")
@json_option
@pass_env
def install_git_driver(env: Env, as_json: bool) -> int:
    """This clone's STATE.md merge driver: `STATE.md merge=cloister-state` in .gitattributes
    (committed) and the driver in .git/config (each clone registers its own; `init` does this too)."""
    from cloisterctl.integrations.merge_driver import install_git

    return _report(install_git(env.context().ws), as_json)


@uninstall.command("agent-hooks")
@json_option
@pass_env
def uninstall_agent_hooks(env: Env, as_json: bool) -> int:
    """Remove cloisterctl's entries from .claude/settings.local.json and .claude/settings.json."""
    from cloisterctl.integrations.install import uninstall_claude

    return _report(uninstall_claude(env.context().ws), as_json)


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@pass_env
def hook(env: Env, args: tuple[str, ...]) -> int:
    """Hook entry points (called by hooks, not by people):

    \b
      hook git post-commit|post-merge|post-checkout|post-rewrite   (pre-commit)
      hook check [FILES]                                           (pre-commit)
      hook pre-push                                                (pre-commit, opt-in)
      hook beads ISSUE_ID create|update|close < issue.json         (.beads/hooks/on_*)
      hook claude < hook-input.json                                (.claude/settings*.json)
      hook merge-state BASE CURRENT OTHER MARKER_SIZE PATH         (git, STATE.md's merge driver)
    """
    import os

    from cloisterctl.hooks.dispatch import run

    os.chdir(env.directory)
    return run(list(args))


@install.command("statusline")
@click.option("--shared", is_flag=True, help="Into the committed .claude/settings.json, for the whole team.")
@click.option("--replace", is_flag=True, help="Put cloisterctl's in place of a statusLine that is set already.")
@json_option
@pass_env
def install_statusline(env: Env, shared: bool, replace: bool, as_json: bool) -> int:
    """Claude Code's statusLine -> `cloisterctl statusline`, in .claude/settings.local.json (kept
    out of git), or with --shared in .claude/settings.json. It calls cloisterctl by name and is
    silent where there is none."""
    from cloisterctl.integrations.statusline_install import install_statusline as install_it

    return _report(install_it(env.context().ws, shared=shared, replace=replace), as_json)


@uninstall.command("statusline")
@json_option
@pass_env
def uninstall_statusline(env: Env, as_json: bool) -> int:
    """Remove cloisterctl's statusLine from .claude/settings.local.json and .claude/settings.json."""
    from cloisterctl.integrations.statusline_install import uninstall_statusline as uninstall_it

    return _report(uninstall_it(env.context().ws), as_json)


@install.command("subagents")
@json_option
@pass_env
def install_subagents(env: Env, as_json: bool) -> int:
    """Claude Code subagents for the configured tiers and roles, in .claude/agents/cloister-*.md
    (model from tiers.*, a description from the routing config); `tick` keeps them in sync with
    the config. A file of the same name that cloisterctl did not write is never replaced."""
    from cloisterctl.integrations.subagents_install import install_subagents as install_them

    ctx = env.context()
    return _report(install_them(ctx.ws, ctx.config), as_json)


@uninstall.command("subagents")
@json_option
@pass_env
def uninstall_subagents(env: Env, as_json: bool) -> int:
    """Remove the subagent definitions cloisterctl wrote (never a file of yours)."""
    from cloisterctl.integrations.subagents_install import uninstall_subagents as uninstall_them

    return _report(uninstall_them(env.context().ws), as_json)
