"""Complexity detection: a task -> level, confidence, source and reasons. Pure.

The rule (all word lists, thresholds and weights are config, `complexity.*`):

1. An explicit level wins outright: ``metadata.complexity``, then a ``complexity:LEVEL`` label, then
   the override file `.cloister/complexity.yaml` (written by ``cloisterctl complexity set`` without bd).
2. Otherwise each available signal votes for a level with a weight:
   a difficulty estimate (a ``difficulty:LEVEL`` label, or a time band such as SWE-bench's
   ``<15 min fix`` ... ``>4 hours`` as a ``difficulty:`` label or ``metadata.difficulty``, mapped
   by ``complexity.difficulty_bands``); the label map (the highest level among mapped labels);
   keywords in the title and description (whole words or phrases, case-insensitive, phrases first;
   the level with the most hits wins, a title hit counting double, ties going to the higher level);
   the number of files the task names (in its description or ``metadata.files``);
   ``estimated_minutes``; the issue type; the number of child tasks.
3. Signals named in ``complexity.weak_signals`` (keywords, issue type, named files: text that,
   measured on real issues, does not predict difficulty) never move a task off the prior level
   (``complexity.default``): with only weak evidence the level is the prior, the reasons say
   "weak evidence" and what the text suggests, and the adaptive router decides from outcomes.
   ``weak_signals: []`` lets every signal vote.
4. The level is the weighted mean of the strong votes (trivial=0 ... expert=4), rounded half up.
   Confidence starts at the prior's and grows with the total weight (to 0.95), shrinking with
   disagreement between the votes.
5. With no strong signal the level is ``complexity.default`` with ``complexity.prior_confidence``
   (how often the prior level is right when nothing else is known: ``bench/complexity_calibration.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cloisterctl.models.tiers import LEVELS, level_index
from cloisterctl.tasks.records import Task

EXPLICIT_SOURCES = ("metadata", "label", "override")

_FILE = re.compile(
    r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.(?:py|pyi|js|jsx|ts|tsx|mjs|go|rs|java|kt|rb|php|cs|c|h|cc|cpp|hpp|swift"
    r"|scala|md|rst|txt|yaml|yml|json|toml|ini|cfg|sql|html|css|scss|sh|proto|tf|lock))(?![\w/])"
)


@dataclass(frozen=True)
class Signal:
    name: str
    level: str
    weight: float
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "level": self.level, "weight": self.weight, "reason": self.reason}


@dataclass(frozen=True)
class Classification:
    task: str
    level: str
    confidence: float
    source: str
    reasons: tuple[str, ...]
    signals: tuple[Signal, ...] = field(default=())

    @property
    def is_explicit(self) -> bool:
        return self.source in EXPLICIT_SOURCES

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "level": self.level,
            "confidence": self.confidence,
            "source": self.source,
            "reasons": list(self.reasons),
            "signals": [signal.as_dict() for signal in self.signals],
        }


def _valid(level: Any) -> str | None:
    return level if isinstance(level, str) and level in LEVELS else None


def explicit_level(task: Task, override: str | None) -> tuple[tuple[str, str] | None, list[str]]:
    """((level, source) or None, notes on explicit values that were ignored), in read order."""
    notes: list[str] = []
    raw = task.metadata.get("complexity")
    if raw is not None:
        value = str(raw).strip().lower()
        if _valid(value):
            return (value, "metadata"), notes
        notes.append(f"ignored metadata.complexity {raw!r} (not one of {', '.join(LEVELS)})")
    for label in task.labels:
        if label.lower().startswith("complexity:"):
            value = label.split(":", 1)[1].strip().lower()
            if _valid(value):
                return (value, "label"), notes
            notes.append(f"ignored label {label!r} (not a complexity level)")
    if override is not None:
        if _valid(override):
            return (override, "override"), notes
        notes.append(f"ignored {override!r} for {task.id} in .cloister/complexity.yaml (not a complexity level)")
    return None, notes


def named_files(task: Task) -> list[str]:
    """Files the task names: paths in its title/description and ``metadata.files``."""
    found: list[str] = []
    for text in (task.title, task.description):
        found += _FILE.findall(text)
    extra = task.metadata.get("files")
    if isinstance(extra, list):
        found += [str(item) for item in extra]
    elif isinstance(extra, str):
        found += [part.strip() for part in extra.split(",") if part.strip()]
    return list(dict.fromkeys(found))


def _keyword_pattern(entry: str) -> re.Pattern[str]:
    words = entry.strip().lower().split()
    parts = [re.escape(w[:-1]) + r"[\w-]*" if w.endswith("*") else re.escape(w) for w in words]
    return re.compile(r"(?<![\w-])" + r"[\s-]+".join(parts) + r"(?![\w-])", re.IGNORECASE)


def _count_hits(text: str, keywords: Mapping[str, Sequence[str]]) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Hits per level; phrases are matched (and blanked out) before single words."""
    counts = {level: 0 for level in LEVELS}
    words: dict[str, list[str]] = {level: [] for level in LEVELS}
    entries = [(level, entry) for level in LEVELS for entry in keywords.get(level, ())]
    entries.sort(key=lambda item: -len(item[1].split()))
    remaining = text
    for level, entry in entries:
        pattern = _keyword_pattern(entry)
        matches = pattern.findall(remaining)
        if matches:
            # A phrase is more specific than a word: it counts once per word.
            counts[level] += len(matches) * len(entry.split())
            words[level].append(entry)
            remaining = pattern.sub(" ", remaining)
    return counts, words


def keyword_signal(task: Task, keywords: Mapping[str, Sequence[str]], weights: Mapping[str, float]) -> Signal | None:
    title = _FILE.sub(" ", task.title)
    description = _FILE.sub(" ", task.description)
    title_counts, title_words = _count_hits(title, keywords)
    desc_counts, desc_words = _count_hits(description, keywords)
    scores = {level: 2 * title_counts[level] + desc_counts[level] for level in LEVELS}
    best = max(scores.values())
    if best == 0:
        return None
    level = max((lvl for lvl in LEVELS if scores[lvl] == best), key=level_index)
    in_title = title_counts[level] > 0
    hits = sorted(set(title_words[level] + desc_words[level]))
    where = "title" if in_title else "description"
    others = [
        f"{lvl} ({', '.join(sorted(set(title_words[lvl] + desc_words[lvl])))})"
        for lvl in LEVELS
        if lvl != level and scores[lvl]
    ]
    reason = f"{where} mentions {', '.join(repr(h) for h in hits)}"
    if others:
        reason += f" (outweighing {'; '.join(others)})"
    weight = weights["keywords_title"] if in_title else weights["keywords_description"]
    return Signal("keywords", level, weight, reason)


def _threshold_level(value: int, cuts: Sequence[tuple[int, str]], above: str) -> str:
    for limit, level in cuts:
        if value <= limit:
            return level
    return above


def difficulty_estimate(task: Task, bands: Mapping[str, str]) -> tuple[str, str] | None:
    """(level, how it was stated) from ``difficulty:`` labels or ``metadata.difficulty``: a level
    name, or a time band named in ``bands`` (case and spacing ignored); the highest one wins."""
    by_band = {_band_key(band): level for band, level in bands.items()}
    found: list[tuple[str, str]] = []
    stated = [
        (label.split(":", 1)[1], f"label {label!r}") for label in task.labels if label.lower().startswith("difficulty:")
    ]
    raw = task.metadata.get("difficulty")
    if isinstance(raw, str) and raw.strip():
        stated.append((raw, f"metadata.difficulty {raw!r}"))
    for value, shown in stated:
        key = _band_key(value)
        level = key if key in LEVELS else by_band.get(key)
        if level is not None:
            found.append((level, shown))
    if not found:
        return None
    return max(found, key=lambda item: level_index(item[0]))


def _band_key(text: str) -> str:
    return " ".join(text.lower().replace("-", " - ").split())


def signals_for(task: Task, child_count: int, settings: Mapping[str, Any]) -> list[Signal]:
    weights: Mapping[str, float] = settings["weights"]
    found: list[Signal] = []

    estimate = difficulty_estimate(task, settings.get("difficulty_bands", {}))
    if estimate is not None:
        level, shown = estimate
        found.append(Signal("difficulty_label", level, weights["difficulty_label"], shown))

    label_map: Mapping[str, str] = settings["labels"]
    mapped = [(label, label_map[label.lower()]) for label in task.labels if label.lower() in label_map]
    if mapped:
        level = max((lvl for _, lvl in mapped), key=level_index)
        shown = ", ".join(f"'{label}' ({lvl})" if len(mapped) > 1 else f"'{label}'" for label, lvl in mapped)
        found.append(Signal("labels", level, weights["labels"], f"label{'s' * (len(mapped) > 1)} {shown}"))

    keywords = keyword_signal(task, settings["keywords"], weights)
    if keywords is not None:
        found.append(keywords)

    files = named_files(task)
    if files:
        cuts = settings["files"]
        count = len(files)
        if count >= cuts["expert_min"]:
            level = "expert"
        elif count >= cuts["complex_min"]:
            level = "complex"
        elif count <= cuts["simple_max"]:
            level = "simple"
        else:
            level = "medium"
        shown = ", ".join(files[:4]) + (", ..." if len(files) > 4 else "")
        # One named file fits a trivial change as well as a simple one: it counts half.
        weight = weights["files"] * (0.5 if count == 1 else 1.0)
        found.append(Signal("files", level, weight, f"names {count} file{'s' * (count != 1)} ({shown})"))

    if task.estimated_minutes is not None and task.estimated_minutes > 0:
        cuts = settings["minutes"]
        level = _threshold_level(
            task.estimated_minutes,
            [
                (cuts["trivial_max"], "trivial"),
                (cuts["simple_max"], "simple"),
                (cuts["medium_max"], "medium"),
                (cuts["complex_max"], "complex"),
            ],
            "expert",
        )
        found.append(
            Signal("estimated_minutes", level, weights["estimated_minutes"], f"estimated {task.estimated_minutes} min")
        )

    type_level = settings["issue_types"].get(task.issue_type)
    if type_level:
        found.append(Signal("issue_type", type_level, weights["issue_type"], f"issue type '{task.issue_type}'"))

    if child_count:
        cuts = settings["children"]
        if child_count >= cuts["expert_min"]:
            found.append(Signal("children", "expert", weights["children"], f"{child_count} child tasks"))
        elif child_count >= cuts["complex_min"]:
            found.append(Signal("children", "complex", weights["children"], f"{child_count} child tasks"))
    return found


def combine(signals: Sequence[Signal]) -> tuple[str, float, float]:
    """(level, confidence, weighted mean index) of the votes."""
    total = sum(s.weight for s in signals)
    mean = sum(s.weight * level_index(s.level) for s in signals) / total
    level = LEVELS[min(len(LEVELS) - 1, int(mean + 0.5))]
    spread = sum(s.weight * abs(level_index(s.level) - mean) for s in signals) / total
    agreement = max(0.0, 1.0 - spread / 2)
    strength = total / (total + 3.0)
    return level, round(min(0.95, strength * agreement), 2), mean


def classify(
    task: Task, settings: Mapping[str, Any], *, child_count: int = 0, override: str | None = None
) -> Classification:
    """The complexity of ``task``. ``settings`` is the config's ``complexity`` section."""
    explicit, notes = explicit_level(task, override)
    if explicit is not None:
        level, source = explicit
        where = {
            "metadata": "metadata.complexity",
            "label": f"label 'complexity:{level}'",
            "override": ".cloister/complexity.yaml",
        }
        return Classification(task.id, level, 1.0, source, (f"explicit: {where[source]} = {level}", *notes))
    signals = signals_for(task, child_count, settings)
    weak_names = set(settings.get("weak_signals", ()))
    strong = [s for s in signals if s.name not in weak_names]
    weak = [s for s in signals if s.name in weak_names]
    if not strong:
        return _prior(task, settings, weak, notes)
    level, strength, mean = combine(strong)
    # Strong evidence is worth more than the prior's own rate: from it up to 0.95 by the votes'
    # weight and agreement (bench/complexity_calibration.py shows it against labelled levels).
    prior = float(settings.get("prior_confidence", 0.2))
    confidence = round(prior + (0.95 - prior) * strength, 2) if prior < 0.95 else strength
    names = [s.name for s in sorted(strong, key=lambda s: -s.weight)]
    source = names[0] if len(names) == 1 else "+".join(names)
    reasons = [f"{s.reason} -> {s.level} (weight {s.weight:g})" for s in strong]
    if len(strong) > 1:
        reasons.append(f"weighted mean {mean:.2f} -> {level}")
    reasons += [f"weak evidence, not counted: {s.reason} -> {s.level}" for s in weak]
    return Classification(task.id, level, confidence, source, (*reasons, *notes), tuple(strong + weak))


def _prior(task: Task, settings: Mapping[str, Any], weak: Sequence[Signal], notes: Sequence[str]) -> Classification:
    """The prior level: nothing but weak evidence (or nothing at all) speaks."""
    default = settings["default"]
    confidence = float(settings.get("prior_confidence", 0.2))
    if not weak:
        return Classification(task.id, default, confidence, "default", (f"no signal; default level {default}", *notes))
    suggested, _, _ = combine(weak)
    reasons = [f"weak evidence: {s.reason} -> {s.level} (weight {s.weight:g})" for s in weak]
    reasons.append(
        f"weak evidence only (the text suggests {suggested}): kept the prior level {default}; "
        "the adaptive policy decides from outcomes"
    )
    return Classification(task.id, default, confidence, "weak", (*reasons, *notes), tuple(weak))
