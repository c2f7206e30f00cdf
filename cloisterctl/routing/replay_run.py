"""`cloisterctl replay`: a replay file, or this workspace's own recorded history, through the real
classifier, router and escalation ladder (``routing.replay``) under a config."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from cloisterctl.config.load import load_config
from cloisterctl.config.settings import Config
from cloisterctl.errors import ReplayError
from cloisterctl.ledger import identity
from cloisterctl.ledger.context import Context
from cloisterctl.routing.outcome_report import by_task, derive
from cloisterctl.routing.replay import Options, replay
from cloisterctl.routing.replay_input import USD, from_attempts, parse_file
from cloisterctl.routing.replay_metrics import over_orders, run_metrics
from cloisterctl.routing.router import default_costs


def config_for(path: Path | None, fallback: Config) -> Config:
    """The config to replay under: FILE as the workspace layer (on the user's and the built-in
    ones), else the one in effect here."""
    if path is None:
        return fallback
    if not path.is_file():
        raise ReplayError(f"{path}: no such config file")
    return load_config(path)


def replay_file(path: Path, config: Config, options: Options, orders: int = 0) -> dict[str, Any]:
    """FILE replayed in its own order, and over ``orders`` seeded orders (0: none). The handoff cost
    is in the file's unit: ``routing.handoff_usd`` when its costs are USD, else 0 unless given."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReplayError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ReplayError(f"{path}: not UTF-8 text ({exc.reason})") from None
    tasks, unit = parse_file(text.splitlines(), str(path))
    if options.handoff is None:
        options = dataclasses.replace(options, handoff=config.routing.adaptive.handoff_usd if unit == USD else 0.0)
    result = replay(tasks, config, config.prices, options)
    result["metrics"] = run_metrics(result)
    if orders:
        result["orders"] = over_orders(tasks, config, config.prices, options, orders)
    result["source"] = {"file": str(path), "unit": unit, "imputed_costs": sum(len(t.imputed) for t in tasks)}
    return result


def replay_ledger(ctx: Context, config: Config, options: Options, last: int, orders: int = 0) -> dict[str, Any]:
    """The workspace's last ``last`` finished tasks (from the whole ledger), replayed under ``config``."""
    ctx.ws.require_initialised()
    attempts, state = derive(ctx.snapshot.events, identity.blank(ctx.ws))
    rows = by_task(attempts)
    tasks, inferred = from_attempts(rows, state.tasks, default_costs(config, config.prices))
    tasks = tasks[-last:] if last else tasks
    if not tasks:
        raise ReplayError("the ledger has no finished task to replay yet (see `cloisterctl outcomes`)")
    result = replay(tasks, config, config.prices, options)
    result["metrics"] = run_metrics(result)
    if orders:
        result["orders"] = over_orders(tasks, config, config.prices, options, orders)
    result["source"] = {"ledger": str(ctx.ws.root), "tasks": len(tasks), "inferred_outcomes": inferred}
    return result
