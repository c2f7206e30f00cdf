"""`cloisterctl replay`: a replay file, or this workspace's own recorded history, through the real
classifier, router and escalation ladder (``routing.replay``) under a config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cloisterctl.config.load import load_config
from cloisterctl.config.settings import Config
from cloisterctl.errors import ReplayError
from cloisterctl.ledger import identity
from cloisterctl.ledger.context import Context
from cloisterctl.routing.outcome_report import by_task, derive
from cloisterctl.routing.replay import Options, replay
from cloisterctl.routing.replay_input import from_attempts, parse_lines
from cloisterctl.routing.router import default_costs


def config_for(path: Path | None, fallback: Config) -> Config:
    """The config to replay under: FILE as the workspace layer (on the user's and the built-in
    ones), else the one in effect here."""
    if path is None:
        return fallback
    if not path.is_file():
        raise ReplayError(f"{path}: no such config file")
    return load_config(path)


def replay_file(path: Path, config: Config, options: Options) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReplayError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ReplayError(f"{path}: not UTF-8 text ({exc.reason})") from None
    tasks = parse_lines(text.splitlines(), str(path))
    result = replay(tasks, config, config.prices, options)
    result["source"] = {"file": str(path), "imputed_costs": sum(len(t.imputed) for t in tasks)}
    return result


def replay_ledger(ctx: Context, config: Config, options: Options, last: int) -> dict[str, Any]:
    """The workspace's last ``last`` finished tasks (from the whole ledger), replayed under ``config``."""
    ctx.ws.require_initialised()
    attempts, state = derive(ctx.snapshot.events, identity.blank(ctx.ws))
    rows = by_task(attempts)
    tasks, inferred = from_attempts(rows, state.tasks, default_costs(config, config.prices))
    tasks = tasks[-last:] if last else tasks
    if not tasks:
        raise ReplayError("the ledger has no finished task to replay yet (see `cloisterctl outcomes`)")
    result = replay(tasks, config, config.prices, options)
    result["source"] = {"ledger": str(ctx.ws.root), "tasks": len(tasks), "inferred_outcomes": inferred}
    return result
