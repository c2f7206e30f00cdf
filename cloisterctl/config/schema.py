"""The config schema: every key, what it may hold, and its built-in default, declared side by side.

``DEFAULTS`` (the built-in layer) is computed from the schema; there is no second tree of
defaults to keep in step. ``trust=True`` marks the program-like keys a repository's config sets
only once trusted (``config.trust``). ``cloisterctl config show`` prints the effective value of every key and
where it came from.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cloisterctl.config.schema_complexity import COMPLEXITY
from cloisterctl.config.schema_routing import ROUTING
from cloisterctl.config.schema_verification import VERIFICATION
from cloisterctl.config.spec import (
    AnyOf,
    Section,
    Seq,
    Table,
    boolean,
    integer,
    number,
    string,
    strings,
)
from cloisterctl.models.tiers import LEVELS, TIERS

MINUTES_IN_A_YEAR = 525_600
SECONDS_IN_A_DAY = 86_400
SPAWN_PLACEHOLDERS = frozenset({"model", "tier", "session_id", "prompt", "prompt_file", "workspace", "agent"})
APPROVAL_KINDS = (
    "all",
    "escalation",
    "downgrade",
    "upgrade",
    "escalate_to_opus",
    "downgrade_from_opus",
    "cross_runtime",
)

_TIER = string("a tier (haiku, sonnet, opus) or a model id")
_ARGV = AnyOf((string(), Seq(string())), name="a command (a string or a list of arguments)")

_PRICE_FIELDS = {
    "input": number(),
    "output": number(),
    "cache_write_5m": number(),
    "cache_write_1h": number(),
    "cache_read": number(),
}
_PRICE = Section(
    {
        **_PRICE_FIELDS,
        "long_context": Section({"threshold_tokens": integer(1), **_PRICE_FIELDS}),
        "fast": Section(_PRICE_FIELDS),
    }
)


def _family_patterns(family: str) -> list[str]:
    return [family, f"{family}-*", f"claude-{family}-*", f"claude-*-{family}", f"claude-*-{family}-*"]


TIER_MODELS = {"opus": "claude-opus-4-7", "sonnet": "claude-sonnet-4-6", "haiku": "claude-haiku-4-5-20251001"}

RESUME = ["claude", "--resume", "{session_id}", "--model", "{model}", "{prompt}"]

SAVE_REQUEST = (
    "cloisterctl: a different model will continue this work. Update STATE.md now with your "
    "progress, decisions made, relevant files and next steps, commit nothing else, then stop."
)

# Regular expressions over the Bash commands an agent runs: a match is a test run.
TEST_PATTERNS = [
    r"(^|[\s;&|(])(uv run |poetry run |python3? -m )?pytest(\s|$)",
    r"(^|[\s;&|(])python3? -m unittest(\s|$)",
    r"(^|[\s;&|(])(npm|pnpm|yarn|bun) (run )?test(\s|$)",
    r"(^|[\s;&|(])(npx )?(jest|vitest|mocha)(\s|$)",
    r"(^|[\s;&|(])go test(\s|$)",
    r"(^|[\s;&|(])cargo (test|nextest)(\s|$)",
    r"(^|[\s;&|(])make (test|check)(\s|$)",
    r"(^|[\s;&|(])(tox|nox)(\s|$)",
    r"(^|[\s;&|(])(bundle exec )?rspec(\s|$)",
    r"(^|[\s;&|(])mvn (test|verify)(\s|$)",
    r"(^|[\s;&|(])(\./)?gradlew? test(\s|$)",
]


_TRIGGERS = Section(
    {
        "planning_complete": Section(
            {
                "enabled": boolean(default=True),
                "from_model": replace(_TIER, default="opus"),
                "to_model": replace(_TIER, default="sonnet"),
                "labels": strings(default=["planning", "plan"]),
                "title_words": strings(default=["plan", "planning"]),
            }
        ),
        "implementation_complete": Section(
            {
                "enabled": boolean(default=True),
                "from_model": _TIER,  # no default: any tier
                "to_specialist": string("a role name", default="test-agent"),
                "labels": strings(default=["implement", "implementation"]),
                "title_words": strings(default=["implement", "implementation"]),
            }
        ),
        "task_completed": Section({"enabled": boolean(default=True)}),
        "stuck": Section(
            {
                "enabled": boolean(default=True),
                "thresholds": Section(
                    {
                        "haiku_to_sonnet_minutes": number(0.01, MINUTES_IN_A_YEAR, default=10),
                        "sonnet_to_opus_minutes": number(0.01, MINUTES_IN_A_YEAR, default=20),
                        "opus_flag_minutes": number(0.01, MINUTES_IN_A_YEAR, default=30),
                    }
                ),
            }
        ),
        "test_failure": Section({"enabled": boolean(default=True), "consecutive_failures": integer(1, default=2)}),
        # A close that failed its verification (the `verification` section) -> one tier up.
        "verification_failed": Section({"enabled": boolean(default=True)}),
    }
)

SCHEMA = Section(
    {
        "tiers": Table(
            Section({"model": string("a model id"), "patterns": strings()}),
            keys=TIERS,
            default={tier: {"model": TIER_MODELS[tier], "patterns": _family_patterns(tier)} for tier in TIER_MODELS},
            doc="tier -> the model a new session gets, and the ids that count as the tier",
        ),
        "complexity_routing": Table(
            _TIER,
            keys=LEVELS,
            default={"trivial": "haiku", "simple": "haiku", "medium": "sonnet", "complex": "sonnet", "expert": "opus"},
        ),
        "roles": Table(_TIER, default={"planning": "opus", "implementation": "sonnet", "test-agent": "haiku"}),
        "complexity": COMPLEXITY,
        "routing": ROUTING,
        "verification": VERIFICATION,
        "handoffs": Section(
            {
                "auto_triggers": _TRIGGERS,
                "guards": Section(
                    {
                        "cooldown_minutes": number(0, MINUTES_IN_A_YEAR, default=10),
                        "max_escalations": integer(0, default=2),
                        "require_approval": AnyOf(
                            (boolean(), Seq(string(choices=APPROVAL_KINDS))),
                            name="true, false, or a list of " + ", ".join(APPROVAL_KINDS),
                            default=False,
                        ),
                        # The cost-bleed guard: this much spent with no commit, task change or
                        # passing test since flags the agent (0 turns it off); "stop" stops it too.
                        "bleed_usd": number(0, 1e6, default=5),
                        "bleed_action": string(choices=("flag", "stop"), default="flag"),
                    }
                ),
                "idle_seconds": number(0, SECONDS_IN_A_DAY, default=30),
                "save_timeout_seconds": number(0, SECONDS_IN_A_DAY, default=180),
                "spawn_timeout_seconds": number(0, SECONDS_IN_A_DAY, default=120),
                "packet": Section(
                    {"budget_tokens": integer(500, default=8000), "warn_tokens": integer(500, default=16000)}
                ),
                "protect_uncommitted": string(choices=("wip_commit", "stash", "none"), default="wip_commit"),
            }
        ),
        "runtime": Section(
            {
                "kind": string(choices=("tmux",), default="tmux"),
                "session_prefix": string(default="cloister-"),
                "spawn": Seq(
                    string(),
                    name="a list of arguments",
                    default=["claude", "--model", "{model}", "--session-id", "{session_id}", "{prompt}"],
                    trust=True,
                ),
                # How a previous session is started again when the handoff that replaced it failed.
                "resume": Seq(string(), name="a list of arguments", default=RESUME, trust=True),
                # Typed into the agent's terminal (Claude Code runs a line starting with "!").
                "exit_text": string(default="/exit", trust=True),
                "save_request": string(default=SAVE_REQUEST, trust=True),
                "stop_timeout_seconds": number(0, 3600, default=10),
                "env": Table(string(), default={}, trust=True),
            }
        ),
        "tests": Section(
            {
                "command": replace(_ARGV, default=[], trust=True),
                # Regular expressions: run with a bounded matcher (testruns.outcome), and set by a
                # repository only once trusted.
                "patterns": strings(default=TEST_PATTERNS, trust=True),
                "junit_xml": string(nullable=True, default=None),
            }
        ),
        "cost": Section(
            {
                "prices": Table(_PRICE, default={}),
                "turn_output_tokens": integer(0, default=1000),
                "remaining_turns": integer(0, default=20),
                "cache_ttl": string(choices=("5m", "1h"), default="5m"),
                # The warm context assumed for a running session whose transcript has not been read yet.
                "default_context_tokens": integer(0, default=60000),
                # What a fresh agent session reads before the handoff packet (system prompt, tool definitions).
                "session_overhead_tokens": integer(0, default=15000),
            }
        ),
        "tick": Section(
            {
                "commit": boolean(default=True),
                # The identity on your commits, and other repositories tick --all acts on.
                "author_name": string(default="cloisterctl", trust=True),
                "author_email": string(default="cloisterctl@localhost", trust=True),
                "workspaces": strings(default=[], trust=True),
                "worktrees": boolean(default=True),
                "wait_seconds": number(0, 3600, default=3),
            }
        ),
        "beads": Section(
            {
                "command": string(default="bd", trust=True),
                "jsonl": string(default=".beads/issues.jsonl", trust=True),  # a path read
                "use_cli": string(choices=("auto", "always", "never"), default="auto"),
            }
        ),
        "lock_timeout_seconds": number(0, 3600, default=10),
        # Spending limits (USD; null or 0: off): the agent's in all, its current task's, and the
        # agent's on the current UTC day. A warning at warn_at of a limit, a flag at the limit;
        # "stop" also stops the agent (once per limit reached).
        "budgets": Section(
            {
                "agent_usd": number(0, 1e6, nullable=True, default=None),
                "task_usd": number(0, 1e6, nullable=True, default=None),
                "day_usd": number(0, 1e6, nullable=True, default=None),
                "warn_at": number(0.01, 1, default=0.8),
                "action": string(choices=("flag", "stop"), default="flag"),
            }
        ),
    }
)

DEFAULTS: dict[str, Any] = SCHEMA.defaults()
