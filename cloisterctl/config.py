"""Configuration: schema, built-in defaults, layering, and validation that names file, key and line.

Layers, later wins: built-in defaults < ``~/.panopticon/cloister.yaml`` < ``<workspace>/.cloister/config.yaml``
< a few ``CLOISTER_*`` environment variables. Mappings merge key by key; lists and scalars replace.
"""

from __future__ import annotations

import copy
import difflib
import os
import pickle
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloisterctl.errors import ConfigError
from cloisterctl.tiers import TIERS, UnknownModelError, require_tier

LEVELS: tuple[str, ...] = ("trivial", "simple", "medium", "complex", "expert")
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

KeyPath = tuple[str | int, ...]


# --------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------

Emit = Callable[[KeyPath, str], None]


class Spec:
    """One node of the schema: checks a value, reporting problems through ``emit``."""

    name = "value"

    def check(self, value: Any, path: KeyPath, emit: Emit) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Scalar(Spec):
    kinds: tuple[type, ...]
    name: str = "value"
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    nullable: bool = False

    def check(self, value: Any, path: KeyPath, emit: Emit) -> None:
        if value is None and self.nullable:
            return
        # bool is an int in Python; a YAML `yes` must not pass as a number.
        if isinstance(value, bool) and bool not in self.kinds:
            emit(path, f"expected {self.name}, got a boolean")
            return
        if not isinstance(value, self.kinds):
            emit(path, f"expected {self.name}, got {_describe(value)}")
            return
        if self.choices is not None and value not in self.choices:
            hint = _did_you_mean(str(value), [str(c) for c in self.choices])
            emit(path, f"{value!r} is not one of {', '.join(map(str, self.choices))}{hint}")
        if self.minimum is not None and isinstance(value, int | float) and value < self.minimum:
            emit(path, f"must be at least {self.minimum:g}, got {value}")


@dataclass(frozen=True)
class Seq(Spec):
    item: Spec
    name: str = "a list"

    def check(self, value: Any, path: KeyPath, emit: Emit) -> None:
        if not isinstance(value, list):
            emit(path, f"expected {self.name}, got {_describe(value)}")
            return
        for index, item in enumerate(value):
            self.item.check(item, (*path, index), emit)


@dataclass(frozen=True)
class Section(Spec):
    """A mapping with a fixed set of known keys (all optional). Unknown keys are errors."""

    fields: Mapping[str, Spec]
    name: str = "a mapping"

    def check(self, value: Any, path: KeyPath, emit: Emit) -> None:
        if not isinstance(value, dict):
            emit(path, f"expected {self.name}, got {_describe(value)}")
            return
        for key, item in value.items():
            spec = self.fields.get(key) if isinstance(key, str) else None
            if spec is None:
                emit((*path, str(key)), f"unknown key {key!r}{_did_you_mean(str(key), list(self.fields))}")
                continue
            spec.check(item, (*path, key), emit)


@dataclass(frozen=True)
class Table(Spec):
    """A mapping from user-chosen keys (model ids, tier names) to values of one shape."""

    value: Spec
    keys: tuple[str, ...] | None = None
    name: str = "a mapping"

    def check(self, value: Any, path: KeyPath, emit: Emit) -> None:
        if not isinstance(value, dict):
            emit(path, f"expected {self.name}, got {_describe(value)}")
            return
        for key, item in value.items():
            if not isinstance(key, str):
                emit((*path, str(key)), f"keys must be strings, got {_describe(key)}")
                continue
            if self.keys is not None and key not in self.keys:
                emit((*path, key), f"unknown key {key!r}{_did_you_mean(key, list(self.keys))}")
                continue
            self.value.check(item, (*path, key), emit)


@dataclass(frozen=True)
class AnyOf(Spec):
    options: tuple[Spec, ...]
    name: str = "value"

    def check(self, value: Any, path: KeyPath, emit: Emit) -> None:
        for option in self.options:
            problems: list[str] = []

            def collect(_path: KeyPath, message: str, found: list[str] = problems) -> None:
                found.append(message)

            option.check(value, path, collect)
            if not problems:
                return
        emit(path, f"expected {self.name}, got {_describe(value)}")


def _str(name: str = "a string", **kw: Any) -> Scalar:
    return Scalar((str,), name=name, **kw)


def _int(minimum: float | None = 0, **kw: Any) -> Scalar:
    return Scalar((int,), name="an integer", minimum=minimum, **kw)


def _num(minimum: float | None = 0, **kw: Any) -> Scalar:
    return Scalar((int, float), name="a number", minimum=minimum, **kw)


_BOOL = Scalar((bool,), name="true or false")
_TIER = _str("a tier (haiku, sonnet, opus) or a model id")
_LEVEL = _str("a complexity level", choices=LEVELS)
_STRINGS = Seq(_str())
_ARGV = AnyOf((_str(), Seq(_str())), name="a command (a string or a list of arguments)")

_PRICE_FIELDS = {
    "input": _num(),
    "output": _num(),
    "cache_write_5m": _num(),
    "cache_write_1h": _num(),
    "cache_read": _num(),
}
_PRICE = Section(
    {
        **_PRICE_FIELDS,
        "long_context": Section({"threshold_tokens": _int(1), **_PRICE_FIELDS}),
        "fast": Section(_PRICE_FIELDS),
    }
)

SCHEMA = Section(
    {
        "tiers": Table(
            Section({"model": _str("a model id"), "patterns": _STRINGS}),
            keys=TIERS,
        ),
        "complexity_routing": Table(_TIER, keys=LEVELS),
        "roles": Table(_TIER),
        "complexity": Section(
            {
                "default": _LEVEL,
                "labels": Table(_LEVEL),
                "keywords": Table(_STRINGS, keys=LEVELS),
                "issue_types": Table(Scalar((str,), name="a complexity level", choices=LEVELS, nullable=True)),
                "files": Section({"simple_max": _int(1), "complex_min": _int(1), "expert_min": _int(1)}),
                "minutes": Section(
                    {
                        "trivial_max": _int(1),
                        "simple_max": _int(1),
                        "medium_max": _int(1),
                        "complex_max": _int(1),
                    }
                ),
                "children": Section({"complex_min": _int(1), "expert_min": _int(1)}),
                "weights": Section(
                    {
                        name: _num(0)
                        for name in (
                            "difficulty_label",
                            "labels",
                            "keywords_title",
                            "keywords_description",
                            "files",
                            "estimated_minutes",
                            "issue_type",
                            "children",
                        )
                    }
                ),
                "suggested_model_max_confidence": _num(0),
            }
        ),
        "handoffs": Section(
            {
                "auto_triggers": Section(
                    {
                        "planning_complete": Section(
                            {
                                "enabled": _BOOL,
                                "from_model": _TIER,
                                "to_model": _TIER,
                                "labels": _STRINGS,
                                "title_words": _STRINGS,
                            }
                        ),
                        "implementation_complete": Section(
                            {
                                "enabled": _BOOL,
                                "from_model": _TIER,
                                "to_specialist": _str("a role name"),
                                "labels": _STRINGS,
                                "title_words": _STRINGS,
                            }
                        ),
                        "task_completed": Section({"enabled": _BOOL}),
                        "stuck_escalation": Section(
                            {
                                "enabled": _BOOL,
                                "thresholds": Section(
                                    {
                                        "haiku_to_sonnet_minutes": _num(0.01),
                                        "sonnet_to_opus_minutes": _num(0.01),
                                        "opus_flag_minutes": _num(0.01),
                                    }
                                ),
                            }
                        ),
                        "test_failure": Section({"enabled": _BOOL, "consecutive_failures": _int(1)}),
                    }
                ),
                "guards": Section(
                    {
                        "cooldown_minutes": _num(),
                        "max_escalations": _int(0),
                        "require_approval": AnyOf(
                            (_BOOL, Seq(_str(choices=APPROVAL_KINDS))),
                            name="true, false, or a list of " + ", ".join(APPROVAL_KINDS),
                        ),
                    }
                ),
                "idle_seconds": _num(0),
                "save_timeout_seconds": _num(0),
                "spawn_timeout_seconds": _num(0),
                "packet": Section({"budget_tokens": _int(500), "warn_tokens": _int(500)}),
                "protect_uncommitted": _str(choices=("wip_commit", "stash", "none")),
            }
        ),
        "runtime": Section(
            {
                "kind": _str(choices=("tmux",)),
                "session_prefix": _str(),
                "spawn": Seq(_str(), name="a list of arguments"),
                "exit_text": _str(),
                "save_request": _str(),
                "stop_timeout_seconds": _num(0),
                "env": Table(_str()),
            }
        ),
        "tests": Section(
            {
                "command": _ARGV,
                "patterns": _STRINGS,
                "junit_xml": _str(nullable=True),
            }
        ),
        "cost": Section(
            {
                "prices": Table(_PRICE),
                "turn_output_tokens": _int(0),
                "remaining_turns": _int(0),
                "cache_ttl": _str(choices=("5m", "1h")),
                "default_context_tokens": _int(0),
                "session_overhead_tokens": _int(0),
            }
        ),
        "tick": Section(
            {
                "commit": _BOOL,
                "author_name": _str(),
                "author_email": _str(),
                "workspaces": _STRINGS,
                "worktrees": _BOOL,
                "wait_seconds": _num(0),
            }
        ),
        "beads": Section(
            {
                "command": _str(),
                "jsonl": _str(),
                "use_cli": _str(choices=("auto", "always", "never")),
            }
        ),
        "lock_timeout_seconds": _num(0),
    }
)


# --------------------------------------------------------------------------------------------
# Defaults
# --------------------------------------------------------------------------------------------


def _family_patterns(family: str) -> list[str]:
    return [family, f"{family}-*", f"claude-{family}-*", f"claude-*-{family}", f"claude-*-{family}-*"]


# fmt: off
DEFAULTS: dict[str, Any] = {
    "tiers": {
        "opus": {"model": "claude-opus-4-7", "patterns": _family_patterns("opus")},
        "sonnet": {"model": "claude-sonnet-4-6", "patterns": _family_patterns("sonnet")},
        "haiku": {"model": "claude-haiku-4-5-20251001", "patterns": _family_patterns("haiku")},
    },
    "complexity_routing": {
        "trivial": "haiku",
        "simple": "haiku",
        "medium": "sonnet",
        "complex": "sonnet",
        "expert": "opus",
    },
    "roles": {"planning": "opus", "implementation": "sonnet", "test-agent": "haiku"},
    "complexity": {
        "default": "medium",
        "labels": {
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
        },
        "keywords": {
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
        },
        "issue_types": {
            "chore": "simple",
            "bug": "medium",
            "feature": "medium",
            "task": None,
            "story": "medium",
            "spike": "complex",
            "epic": "complex",
            "decision": "expert",
        },
        "files": {"simple_max": 1, "complex_min": 4, "expert_min": 10},
        "minutes": {"trivial_max": 15, "simple_max": 60, "medium_max": 240, "complex_max": 960},
        "children": {"complex_min": 3, "expert_min": 8},
        "weights": {
            "difficulty_label": 6,
            "labels": 3,
            "keywords_title": 2,
            "keywords_description": 1,
            "files": 1.5,
            "estimated_minutes": 2,
            "issue_type": 0.5,
            "children": 3,
        },
        # Beads' metadata.execution_suggested_model decides the tier when detection is less sure than this.
        "suggested_model_max_confidence": 0.5,
    },
    "handoffs": {
        "auto_triggers": {
            "planning_complete": {
                "enabled": True,
                "from_model": "opus",
                "to_model": "sonnet",
                "labels": ["planning", "plan"],
                "title_words": ["plan", "planning"],
            },
            "implementation_complete": {
                "enabled": True,
                "to_specialist": "test-agent",
                "labels": ["implement", "implementation"],
                "title_words": ["implement", "implementation"],
            },
            "task_completed": {"enabled": True},
            "stuck_escalation": {
                "enabled": True,
                "thresholds": {
                    "haiku_to_sonnet_minutes": 10,
                    "sonnet_to_opus_minutes": 20,
                    "opus_flag_minutes": 30,
                },
            },
            "test_failure": {"enabled": True, "consecutive_failures": 2},
        },
        "guards": {"cooldown_minutes": 10, "max_escalations": 2, "require_approval": False},
        "idle_seconds": 30,
        "save_timeout_seconds": 180,
        "spawn_timeout_seconds": 120,
        "packet": {"budget_tokens": 8000, "warn_tokens": 16000},
        "protect_uncommitted": "wip_commit",
    },
    "runtime": {
        "kind": "tmux",
        "session_prefix": "cloister-",
        "spawn": ["claude", "--model", "{model}", "--session-id", "{session_id}", "{prompt}"],
        "exit_text": "/exit",
        "save_request": (
            "cloisterctl: a different model will continue this work. Update STATE.md now with your "
            "progress, decisions made, relevant files and next steps, commit nothing else, then stop."
        ),
        "stop_timeout_seconds": 10,
        "env": {},
    },
    "tests": {
        "command": [],
        # Regular expressions over the Bash commands an agent runs: a match is a test run.
        "patterns": [
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
        ],
        "junit_xml": None,
    },
    "cost": {
        "prices": {},
        "turn_output_tokens": 1000,
        "remaining_turns": 20,
        "cache_ttl": "5m",
        # The warm context assumed for a running session whose transcript has not been read yet.
        "default_context_tokens": 60000,
        # What a fresh agent session reads before the handoff packet (system prompt, tool definitions).
        "session_overhead_tokens": 15000,
    },
    "tick": {
        "commit": True,
        "author_name": "cloisterctl",
        "author_email": "cloisterctl@localhost",
        "workspaces": [],
        "worktrees": True,
        "wait_seconds": 3,
    },
    "beads": {"command": "bd", "jsonl": ".beads/issues.jsonl", "use_cli": "auto"},
    "lock_timeout_seconds": 10,
}
# fmt: on


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true/false, 1/0, yes/no or on/off")


def _parse_float(raw: str) -> float:
    return float(raw)


def _parse_argv(raw: str) -> list[str]:
    argv = shlex.split(raw)
    if not argv:
        raise ValueError("empty command")
    return argv


# The environment variables that override config, for one-off runs and CI.
ENV_OVERRIDES: dict[str, tuple[KeyPath, Callable[[str], Any]]] = {
    "CLOISTER_TICK_COMMIT": (("tick", "commit"), _parse_bool),
    "CLOISTER_REQUIRE_APPROVAL": (("handoffs", "guards", "require_approval"), _parse_bool),
    "CLOISTER_LOCK_TIMEOUT": (("lock_timeout_seconds",), _parse_float),
    "CLOISTER_IDLE_SECONDS": (("handoffs", "idle_seconds"), _parse_float),
    "CLOISTER_SPAWN": (("runtime", "spawn"), _parse_argv),
}


# --------------------------------------------------------------------------------------------
# Loading with line numbers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    source: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


@dataclass
class Layer:
    """One source of config values: its data and the line of each key path."""

    source: str
    data: dict[str, Any]
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, path: KeyPath) -> int | None:
        # A problem inside a list item or deeper than recorded points at the nearest known key.
        for cut in range(len(path), 0, -1):
            line = self.lines.get(path[:cut])
            if line is not None:
                return line
        return None


def dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def parse_yaml_layer(text: str, source: str) -> tuple[Layer, list[Problem]]:
    """Parse a config file, keeping the line of every key. Broken YAML raises ConfigError (one line)."""
    import yaml

    problems: list[Problem] = []
    loader = _loader(yaml)(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    finally:
        loader.dispose()
    if data is None:
        return Layer(source, {}), problems
    if not isinstance(data, dict):
        problems.append(Problem(source, 1, "", f"the file must be a mapping of keys, got {_describe(data)}"))
        return Layer(source, {}), problems
    layer = Layer(source, data)
    _record_lines(node, (), layer.lines, source, problems)
    return layer, problems


def _record_lines(node: Any, path: KeyPath, lines: dict[KeyPath, int], source: str, problems: list[Problem]) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            child = (*path, key)
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(Problem(source, line, dotted(child), "duplicate key (YAML keeps only the last one)"))
            seen.add(key)
            lines[child] = line
            _record_lines(value_node, child, lines, source, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines[child] = item.start_mark.line + 1
            _record_lines(item, child, lines, source, problems)


def read_file_layer(path: Path, label: str | None = None) -> tuple[Layer | None, list[Problem]]:
    source = label or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, []
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read: {exc}") from None
    if all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()):
        return Layer(source, {}), []  # comments only (as `init` writes it): nothing to parse
    return parse_yaml_layer(text, source)


def env_layer(environ: Mapping[str, str]) -> tuple[Layer, list[Problem]]:
    data: dict[str, Any] = {}
    lines: dict[KeyPath, int] = {}
    problems: list[Problem] = []
    for name, (path, parse) in ENV_OVERRIDES.items():
        raw = environ.get(name)
        if raw is None or raw == "":
            continue
        try:
            value = parse(raw)
        except ValueError as exc:
            problems.append(Problem(f"env {name}", None, dotted(path), f"{raw!r}: {exc}"))
            continue
        cursor = data
        for part in path[:-1]:
            cursor = cursor.setdefault(str(part), {})
        cursor[str(path[-1])] = value
    return Layer("env", data, lines), problems


# --------------------------------------------------------------------------------------------
# The effective config
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """The merged config and, for every leaf, the layer it came from."""

    data: dict[str, Any]
    sources: dict[str, str]

    def get(self, *path: str) -> Any:
        value: Any = self.data
        for part in path:
            value = value[part]
        return value

    @property
    def tier_patterns(self) -> dict[str, list[str]]:
        return {tier: list(spec.get("patterns", [])) for tier, spec in self.data["tiers"].items()}

    def tier_model(self, tier: str) -> str:
        return str(self.data["tiers"][tier]["model"])

    def tier_of(self, model_or_tier: str) -> str:
        """Any model id, alias or tier name -> tier; an unknown id is an error."""
        return require_tier(model_or_tier, self.tier_patterns)

    def role_tier(self, role: str) -> str | None:
        target = self.data["roles"].get(role)
        return self.tier_of(target) if target else None

    def trigger(self, name: str) -> dict[str, Any]:
        return dict(self.data["handoffs"]["auto_triggers"][name])

    @property
    def lock_timeout(self) -> float:
        return float(self.data["lock_timeout_seconds"])


def _merge(
    base: dict[str, Any], incoming: dict[str, Any], layer: Layer, sources: dict[str, str], path: KeyPath = ()
) -> None:
    for key, value in incoming.items():
        child = (*path, key)
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value, layer, sources, child)
            continue
        base[key] = copy.deepcopy(value)
        prefix = dotted(child)
        for stale in [p for p in sources if p == prefix or p.startswith(prefix + ".")]:
            del sources[stale]
        _record_sources(value, child, layer, sources)


def _record_sources(value: Any, path: KeyPath, layer: Layer, sources: dict[str, str]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _record_sources(item, (*path, key), layer, sources)
        return
    line = layer.lines.get(path)
    sources[dotted(path)] = f"{layer.source}:{line}" if line else layer.source


def defaults_layer() -> Layer:
    # pickle round-trips plain data far faster than copy.deepcopy (tick loads one config per workspace)
    return Layer("default", pickle.loads(pickle.dumps(DEFAULTS)))


def user_config_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    home = env.get("HOME") or str(Path.home())
    return Path(home) / ".panopticon" / "cloister.yaml"


def collect_layers(
    workspace_config: Path | None, environ: Mapping[str, str] | None = None
) -> tuple[list[Layer], list[Problem]]:
    """Every layer in precedence order, with the problems found while reading them."""
    env = os.environ if environ is None else environ
    layers = [defaults_layer()]
    problems: list[Problem] = []
    user_layer, found = read_file_layer(user_config_path(env), label=str(user_config_path(env)))
    problems += found
    if user_layer is not None:
        layers.append(user_layer)
    if workspace_config is not None:
        label = _relative_label(workspace_config)
        repo_layer, found = read_file_layer(workspace_config, label=label)
        problems += found
        if repo_layer is not None:
            layers.append(repo_layer)
    environment, found = env_layer(env)
    problems += found
    if environment.data:
        layers.append(environment)
    return layers, problems


def _relative_label(path: Path) -> str:
    """A workspace config is named as it appears in the repo (`.cloister/config.yaml`), wherever we run."""
    if path.parent.name == ".cloister":
        return f".cloister/{path.name}"
    return str(path)


def validate_layers(layers: Sequence[Layer]) -> list[Problem]:
    """Schema problems in every non-default layer, then cross-key problems in the merged result."""
    problems: list[Problem] = []
    for layer in layers:
        if layer.source == "default":
            continue

        def emit(path: KeyPath, message: str, layer: Layer = layer) -> None:
            problems.append(Problem(layer.source, layer.line_of(path), dotted(path), message))

        SCHEMA.check(layer.data, (), emit)
    # Cross-key checks run even when the schema found problems, so one pass reports everything;
    # data the schema already rejected may trip them up, and is already reported.
    reported = {problem.path for problem in problems}
    try:
        semantic = _semantic_problems(merge_layers(layers))
    except (TypeError, KeyError, AttributeError, ValueError):
        semantic = []
    problems += [problem for problem in semantic if problem.path not in reported]
    return problems


def merge_layers(layers: Sequence[Layer]) -> Config:
    data: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for layer in layers:
        _merge(data, layer.data, layer, sources)
    return Config(data, sources)


def _semantic_problems(config: Config) -> list[Problem]:
    """Checks that need the merged config: every tier reference must resolve with the tier patterns."""
    problems: list[Problem] = []

    def problem(path: str, message: str) -> None:
        # A list is one leaf in the provenance map: `runtime.spawn[2]` came from wherever `runtime.spawn` did.
        key = path
        while key not in config.sources and re.search(r"[.\[]", key):
            key = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", key)
        source = config.sources.get(key, "default")
        name, _, line = source.rpartition(":")
        if name and line.isdigit():
            problems.append(Problem(name, int(line), path, message))
        else:
            problems.append(Problem(source, None, path, message))

    def tier_ref(path: str, value: Any, roles_ok: bool = False) -> None:
        if roles_ok and value in config.data["roles"]:
            return
        try:
            config.tier_of(str(value))
        except UnknownModelError as exc:
            problem(path, str(exc))

    for level, target in config.data["complexity_routing"].items():
        tier_ref(f"complexity_routing.{level}", target)
    for role, target in config.data["roles"].items():
        tier_ref(f"roles.{role}", target)
    for tier, spec in config.data["tiers"].items():
        model = spec.get("model")
        if model is None:
            problem(f"tiers.{tier}.model", "missing model id")
            continue
        try:
            found = config.tier_of(str(model))
        except UnknownModelError as exc:
            problem(f"tiers.{tier}.model", str(exc))
            continue
        if found != tier:
            problem(f"tiers.{tier}.model", f"{model!r} normalises to tier {found!r}, not {tier!r}")
    triggers = config.data["handoffs"]["auto_triggers"]
    for name, spec in triggers.items():
        for key in ("from_model", "to_model"):
            if key in spec:
                tier_ref(f"handoffs.auto_triggers.{name}.{key}", spec[key], roles_ok=True)
        role = spec.get("to_specialist")
        if role is not None and role not in config.data["roles"]:
            hint = _did_you_mean(role, list(config.data["roles"]))
            problem(f"handoffs.auto_triggers.{name}.to_specialist", f"unknown role {role!r}{hint}")
    spawn = config.data["runtime"]["spawn"]
    if not spawn or not spawn[0]:
        problem("runtime.spawn", "the spawn command needs at least a program name")
    for index, arg in enumerate(spawn):
        for name in re.findall(r"\{([^{}]*)\}", arg):
            if name not in SPAWN_PLACEHOLDERS:
                problem(
                    f"runtime.spawn[{index}]",
                    f"unknown placeholder {{{name}}}{_did_you_mean(name, sorted(SPAWN_PLACEHOLDERS))}; "
                    f"known: {', '.join('{' + p + '}' for p in sorted(SPAWN_PLACEHOLDERS))}",
                )
    from cloisterctl.pricing import price_table

    known = price_table().prices
    for model, entry in config.data["cost"]["prices"].items():
        missing = [key for key in ("input", "output") if key not in entry and model not in known]
        if missing:
            problem(
                f"cost.prices.{model}", f"{model!r} is not in the built-in table, so it needs {' and '.join(missing)}"
            )
    for index, pattern in enumerate(config.data["tests"]["patterns"]):
        try:
            re.compile(pattern)
        except re.error as exc:
            problem(f"tests.patterns[{index}]", f"invalid regular expression: {exc}")
    return problems


_LOADED: dict[tuple[Any, ...], Config] = {}


def _inputs_key(workspace_config: Path | None, environ: Mapping[str, str]) -> tuple[Any, ...]:
    """What the effective config depends on: the two files' bytes and the overriding variables."""

    def content(path: Path | None) -> bytes | None:
        try:
            return path.read_bytes() if path is not None else None
        except OSError:
            return None

    label = _relative_label(workspace_config) if workspace_config is not None else None
    variables = tuple(environ.get(name) for name in ENV_OVERRIDES)
    return (content(user_config_path(environ)), label, content(workspace_config), variables)


def load_config(workspace_config: Path | None, environ: Mapping[str, str] | None = None) -> Config:
    """The effective config; any problem is a ConfigError naming the first one.

    Workspaces with the same config files share one Config (tick --all loads one per workspace);
    treat it as read-only."""
    env = os.environ if environ is None else environ
    key = _inputs_key(workspace_config, env)
    cached = _LOADED.get(key)
    if cached is not None:
        return cached
    layers, problems = collect_layers(workspace_config, environ)
    if any(layer.data for layer in layers if layer.source != "default"):
        problems += validate_layers(layers)  # the built-in defaults alone are valid (a test says so)
    if problems:
        more = f" (and {len(problems) - 1} more; run `cloisterctl config validate`)" if len(problems) > 1 else ""
        raise ConfigError(f"{problems[0]}{more}")
    config = merge_layers(layers)
    _LOADED[key] = config
    return config


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _did_you_mean(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value:g})"
    return type(value).__name__


def flatten(config: Config) -> list[tuple[str, Any, str]]:
    """Every leaf of the effective config as (dotted key, value, where it came from)."""
    rows: list[tuple[str, Any, str]] = []

    def walk(value: Any, path: KeyPath) -> None:
        if isinstance(value, dict) and value:
            for key, item in value.items():
                walk(item, (*path, key))
            return
        key = dotted(path)
        rows.append((key, value, config.sources.get(key, "default")))

    walk(config.data, ())
    return rows


def _loader(yaml: Any) -> Any:
    """libyaml's C loader when PyYAML was built with it (several times faster), else the Python one."""
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)
