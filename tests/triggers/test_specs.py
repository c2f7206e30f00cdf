"""The trigger registry is the one list of triggers: every trigger has a spec, every spec a config
section, the rules propose what their specs say, the guards read kinds from ``ledger.decisions``,
causes keep the text every ledger holds, and a trigger added as a spec is evaluated and guarded."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from cloisterctl.config.load import load_config
from cloisterctl.config.schema import APPROVAL_KINDS, DEFAULTS, SCHEMA
from cloisterctl.config.spec import Section
from cloisterctl.ledger.decisions import LEGACY_FLAGS, RAISES_FLAG, TIER_CHANGES, DecisionKind
from cloisterctl.ledger.events import make_event
from cloisterctl.ledger.fold import fold
from cloisterctl.tasks.records import Task, task_from_json
from cloisterctl.triggers.cause import Cause
from cloisterctl.triggers.guards import evaluate
from cloisterctl.triggers.names import RULE_TRIGGERS
from cloisterctl.triggers.rules import Inputs
from cloisterctl.triggers.specs import TRIGGERS
from testing.helpers import REPO_ROOT

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
MODELS = {"haiku": "claude-haiku-4-5-20251001", "sonnet": "claude-sonnet-4-6", "opus": "claude-opus-4-7"}


def ev(type_: str, minute: float, **fields: Any) -> dict[str, Any]:
    return make_event(type_, "a", T0 + timedelta(minutes=minute), **fields)


def session(tier: str, task: str = "t-1") -> dict[str, Any]:
    return ev("session", 0, session="s1", tier=tier, model=MODELS[tier], source="spawn", task=task)


def closed(task_id: str, minute: float) -> dict[str, Any]:
    return ev("task", minute, task=task_id, status="closed", event="close")


def task(task_id: str, title: str, status: str = "open", **fields: Any) -> Task:
    return task_from_json({"id": task_id, "title": title, "status": status, **fields})


def test_every_trigger_has_one_spec_in_the_order_they_are_evaluated() -> None:
    assert [spec.name for spec in TRIGGERS] == list(RULE_TRIGGERS)


def test_every_specs_config_section_is_in_the_schema() -> None:
    for spec in TRIGGERS:
        node: Any = SCHEMA
        defaults: Any = DEFAULTS
        for part in spec.config.split("."):
            assert isinstance(node, Section) and part in node.fields, spec.config
            node, defaults = node.fields[part], defaults[part]
        assert isinstance(node, Section) and isinstance(defaults, dict), spec.config


def test_a_spec_has_a_flag_exactly_when_its_rule_can_raise_one() -> None:
    for spec in TRIGGERS:
        assert (spec.flag is not None) == bool(spec.kinds & set(RAISES_FLAG)), spec.name
    # What 0.1.0's decisions (written without their flag's rules) mean is what the specs say now.
    # (A trigger added since, verification_failed, writes its flag's rules into its decisions.)
    legacy = {spec.name: spec.flag for spec in TRIGGERS if spec.flag is not None and spec.name != "verification_failed"}
    assert dict(LEGACY_FLAGS) == legacy


def test_every_tier_change_a_trigger_proposes_can_be_named_in_require_approval() -> None:
    proposed = {kind for spec in TRIGGERS if spec.approval for kind in spec.kinds if kind in TIER_CHANGES}
    assert proposed and proposed <= set(APPROVAL_KINDS)


PLAN = task("t-plan", "Plan: auth redesign", status="closed", labels=["planning"])
BUILD = task("t-build", "Build the auth service", dependencies=[{"depends_on_id": "t-plan", "type": "blocks"}])
DONE = task("t-1", "Add CSV export", status="closed", issue_type="feature")
NEXT = task("t-2", "Implement CSV import", issue_type="feature")
ALL_OPUS = {
    "routing": {"policy": "static"},
    "complexity_routing": dict.fromkeys(DEFAULTS["complexity_routing"], "opus"),
}
TODAY = T0.strftime("%Y-%m-%d")

# (events, tasks, minute, config): between them every kind a rule can propose.
SCENARIOS: dict[str, tuple[list[dict[str, Any]], list[Task], float, dict[str, Any]]] = {
    "quiet on haiku": ([session("haiku")], [], 11, {}),
    "quiet on opus": ([session("opus")], [], 31, {}),
    "failing on sonnet": (
        [session("sonnet"), ev("test_run", 1, passed=False), ev("test_run", 2, passed=False)],
        [],
        3,
        {},
    ),
    "a plan done": ([session("opus", "t-plan"), closed("t-plan", 5)], [PLAN, BUILD], 6, {}),
    "a task done, the next on this tier": ([session("sonnet"), closed("t-1", 3)], [DONE, NEXT], 4, {}),
    "a task done, nothing ready": ([session("sonnet"), closed("t-1", 3)], [DONE], 4, {}),
    "a task done, the next on a higher tier": ([session("haiku"), closed("t-1", 3)], [DONE, NEXT], 4, ALL_OPUS),
    "spending without progress": (
        [session("sonnet"), ev("cost", 1, session="s1", usd=2.0)],
        [],
        2,
        {"handoffs": {"guards": {"bleed_usd": 1, "bleed_action": "stop"}}},
    ),
    "over the day's budget": (
        [session("sonnet"), ev("cost", 1, session="s1", usd=2.0, by_day={TODAY: 2.0})],
        [],
        2,
        {"budgets": {"day_usd": 1}},
    ),
}


def config_of(tmp_path: Path, data: dict[str, Any]) -> Any:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_config(path, environ={})


def test_rules_propose_their_own_trigger_and_kinds_and_approval_goes_by_kind(tmp_path: Path) -> None:
    seen: set[DecisionKind] = set()
    for name, (events, tasks, minute, settings) in SCENARIOS.items():
        guards = settings.get("handoffs", {}).get("guards", {})
        approving = {**settings, "handoffs": {"guards": {**guards, "require_approval": True}}}
        config = config_of(tmp_path, approving)
        inputs = Inputs(
            fold(events, "a"), {t.id: t for t in tasks}, config, config.prices, T0 + timedelta(minutes=minute)
        )
        for spec in TRIGGERS:
            for proposal in spec.rule(inputs):
                assert (proposal.trigger, proposal.kind in spec.kinds) == (spec.name, True), name
                seen.add(proposal.kind)
        decided = evaluate(inputs)
        assert decided, name
        for proposal in decided:
            wants = proposal.kind in TIER_CHANGES and not proposal.skipped
            assert proposal.needs_approval is wants, (name, proposal)
    assert seen == set(TIER_CHANGES) - {"lateral"} | {"continue", "idle", "flag", "stop"}  # lateral: people only


def test_causes_keep_the_text_every_ledger_holds() -> None:
    assert Cause("planning_complete", about="bd-7").format() == "planning_complete:bd-7"
    assert (
        Cause("stuck", tier="haiku", since="2026-11-22T09:00:00.000Z").format()
        == "stuck:haiku:2026-11-22T09:00:00.000Z"
    )
    assert Cause("bleed", since="").format() == "bleed:"
    assert Cause("budget_day", about="2026-11-22", limit=50.0).format() == "budget_day:2026-11-22:50"
    assert Cause("budget_task", about="t-1", limit=2.5).format() == "budget_task:t-1:2.5"
    quiet = fold([session("haiku")], "a")
    config = load_config(None, environ={})
    found = evaluate(Inputs(quiet, {}, config, config.prices, T0 + timedelta(minutes=11)))
    assert [p.cause for p in found] == [f"stuck:haiku:{quiet.tier_since}"]


# ------------------------------------------------------------------------------------------ a new trigger

CONTEXT_FULL_RULE = """
def _context_full(inputs):
    from cloisterctl.models.tiers import tier_above
    from cloisterctl.triggers.cause import Cause

    state, settings = inputs.state, inputs.config.trigger("context_full")
    used = state.session_context.get(state.session or "", 0)
    if not settings["enabled"] or state.tier is None or used < settings["tokens"]:
        return []
    cause = Cause("context_full", tier=state.tier, since=state.session).format()
    return [rules.tier_change(inputs, "context_full", cause, state.task, tier_above(state.tier), f"{used} tokens")]


"""

EVALUATE = """
import json, sys
from datetime import datetime, timedelta, UTC
from pathlib import Path
from cloisterctl.config.load import load_config
from cloisterctl.ledger.events import make_event
from cloisterctl.ledger.fold import fold
from cloisterctl.triggers.guards import evaluate
from cloisterctl.triggers.rules import Inputs

t0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
events = [
    make_event("session", "a", t0, session="s1", tier="haiku", model="claude-haiku-4-5-20251001", source="spawn"),
    make_event("cost", "a", t0 + timedelta(minutes=1), session="s1", usd=0.5, context_tokens=170000),
]
config = load_config(Path(sys.argv[1]), environ={})
found = evaluate(Inputs(fold(events, "a"), {}, config, config.prices, t0 + timedelta(minutes=2)))
print(json.dumps([[p.trigger, p.kind, p.to_tier, p.needs_approval] for p in found]))
"""


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new))


def test_a_trigger_added_as_one_spec_is_evaluated_and_guarded(tmp_path: Path) -> None:
    """In a copy of the package: its name, its spec and rule (all in ``triggers``), its config
    section; nothing else (the ledger is not touched)."""
    package = tmp_path / "cloisterctl"
    shutil.copytree(REPO_ROOT / "cloisterctl", package, ignore=shutil.ignore_patterns("__pycache__"))
    _edit(package / "triggers" / "names.py", '    "budget_day",\n]', '    "budget_day",\n    "context_full",\n]')
    specs = package / "triggers" / "specs.py"
    _edit(specs, "# In the order they are evaluated", CONTEXT_FULL_RULE + "# In the order they are evaluated")
    spec = 'TriggerSpec("context_full", f"{_TRIGGERS}.context_full", frozenset({"upgrade"}), _context_full),\n'
    _edit(specs, '    _budget("budget_day", "day"),\n)', f'    _budget("budget_day", "day"),\n    {spec})')
    section = '"context_full": Section({"enabled": boolean(default=True), "tokens": integer(1, default=160_000)}),'
    _edit(
        package / "config" / "schema.py", '"task_completed": Section(', f'{section}\n        "task_completed": Section('
    )

    def decided(settings: dict[str, Any]) -> list[list[Any]]:
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(settings))
        done = subprocess.run(
            [sys.executable, "-c", EVALUATE, str(path)], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return yaml.safe_load(done.stdout)

    approval = {"handoffs": {"guards": {"require_approval": ["upgrade"]}}}
    assert decided(approval) == [["context_full", "upgrade", "sonnet", True]]
    off = {"handoffs": {"auto_triggers": {"context_full": {"enabled": False}}}}
    assert decided(off) == []


def test_flag_only_triggers_never_wait_for_a_person_or_a_cooldown() -> None:
    flag_only = [spec for spec in TRIGGERS if not spec.kinds & set(TIER_CHANGES)]
    assert [spec.name for spec in flag_only] == ["bleed", "budget_agent", "budget_task", "budget_day"]
    assert all((spec.cooldown, spec.approval) == (False, False) for spec in flag_only)
