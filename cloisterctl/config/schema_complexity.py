"""The ``complexity`` section of the config schema: how a task's level is detected, with defaults.

Word lists, label maps, thresholds and weights are data: tuned on the labelled tasks in
``tests/data/complexity_tasks.yaml`` (``bench/complexity_eval.py``), overridable per repo.
"""

from __future__ import annotations

from cloisterctl.config.spec import Scalar, Section, Table, integer, number, string, strings
from cloisterctl.models.tiers import LEVELS

LEVEL = string("a complexity level", choices=LEVELS)

# fmt: off
KEYWORDS = {
    "trivial": ["typo", "typos", "spelling", "misspell*", "wording", "whitespace", "copyright", "changelog",
                "bump", "version bump", "docstring*", "comment", "comments", "broken link", "readme",
                "unused import", "rename", "tooltip", "punctuation", "missing comma"],
    "simple": ["unit test*", "add tests", "format*", "code style", "black", "isort", "prettier", "flag",
               "cli option", "logging", "log", "error message", "type hints", "health check", "example",
               "sort*", "flaky", "environment variable", "env var", "configurable", "tweak", "minor",
               "small", "cleanup", "clean up", "document*", "lint*", "dev requirements",
               "dev dependencies"],
    "medium": ["feature", "endpoint", "api", "implement*", "integration test*", "webhook", "handler",
               "form", "page", "export", "email", "rate limit*", "pagination", "oauth", "login",
               "signup", "upload*", "validat*", "retry", "backoff", "flow", "bug", "dark mode",
               "notification*", "crud", "search"],
    "complex": ["refactor*", "migrat*", "rewrite", "replace", "concurren*", "race condition", "race",
                "performance", "optimi*", "latency", "profil*", "caching layer", "cache invalidation",
                "invalidation", "schema", "upgrade", "restructure", "split", "multi-tenant",
                "multitenan*", "asyncio", "threads", "threading", "across the", "data layer", "uuid*",
                "matrix", "evaluate", "monolithic", "deadlock", "memory leak"],
    "expert": ["architect*", "redesign", "design", "security", "security review", "vulnerabilit*",
               "threat model*", "cryptograph*", "encrypt*", "end-to-end", "distributed", "consensus",
               "shard*", "replication", "data corruption", "corruption", "intermittent", "plan",
               "planning", "strategy", "audit", "conflict resolution", "offline sync",
               "event sourcing", "authentication"],
}
# fmt: on

LABELS = {
    "typo": "trivial",
    "docs": "trivial",
    "documentation": "trivial",
    "formatting": "trivial",
    "chore": "simple",
    "tests": "simple",
    "test": "simple",
    "small": "simple",
    "bug": "medium",
    "feature": "medium",
    "refactor": "complex",
    "migration": "complex",
    "performance": "complex",
    "architecture": "expert",
    "security": "expert",
    "planning": "expert",
    "design": "expert",
}

ISSUE_TYPES = {
    "chore": "simple",
    "bug": "medium",
    "feature": "medium",
    "task": None,
    "story": "medium",
    "spike": "complex",
    "epic": "complex",
    "decision": "expert",
}

# Human time estimates as bands (SWE-bench's annotators' bands, and the like) -> level.
DIFFICULTY_BANDS = {
    "<15 min fix": "simple",
    "15 min - 1 hour": "medium",
    "1-4 hours": "complex",
    ">4 hours": "expert",
}

# Signals that may not move a task off the prior level: on real issues (SWE-bench Verified) the
# title's words and the issue type do not predict difficulty (AUC about 0.5).
WEAK_SIGNALS = ["keywords", "issue_type", "files"]

WEIGHTS = {
    "difficulty_label": 6,
    "labels": 3,
    "keywords_title": 2,
    "keywords_description": 1,
    "files": 1.5,
    "estimated_minutes": 2,
    "issue_type": 0.5,
    "children": 3,
}

COMPLEXITY = Section(
    {
        "default": string("a complexity level", choices=LEVELS, default="medium", doc="level when no signal speaks"),
        # How often the prior level is right when no strong signal speaks (bench/complexity_calibration.py).
        "prior_confidence": number(0, 1, default=0.5),
        "difficulty_bands": Table(LEVEL, default=DIFFICULTY_BANDS, doc="a difficulty band -> level"),
        "weak_signals": strings(default=WEAK_SIGNALS),
        "labels": Table(LEVEL, default=LABELS, doc="label -> level (the highest mapped level votes)"),
        # Patterns (a trailing * matches any ending): set by a repository only once trusted.
        "keywords": Table(strings(), keys=LEVELS, default=KEYWORDS, doc="words and phrases per level", trust=True),
        "issue_types": Table(
            Scalar((str,), name="a complexity level", choices=LEVELS, nullable=True),
            default=ISSUE_TYPES,
            doc="beads issue type -> level (null: no vote)",
        ),
        "files": Section(
            {
                "simple_max": integer(1, default=1),
                "complex_min": integer(1, default=4),
                "expert_min": integer(1, default=10),
            }
        ),
        "minutes": Section(
            {
                "trivial_max": integer(1, default=15),
                "simple_max": integer(1, default=60),
                "medium_max": integer(1, default=240),
                "complex_max": integer(1, default=960),
            }
        ),
        "children": Section({"complex_min": integer(1, default=3), "expert_min": integer(1, default=8)}),
        "weights": Section({name: number(0, default=weight) for name, weight in WEIGHTS.items()}),
        # Beads' metadata.execution_suggested_model decides the tier when detection is less sure than this.
        "suggested_model_max_confidence": number(0, default=0.5),
    }
)
