"""The building blocks of the config schema: each node checks a value and carries its default.

A ``Spec`` reports problems through ``emit(key path, message)`` and never raises. Its ``default``
is declared beside it (``MISSING`` when the key has none); ``defaults()`` of a ``Section`` is the
mapping of its keys' defaults, so the built-in config is derived from the schema, never written
twice. Likewise ``trust=True`` beside a key marks it program-like (it names a program, a path read
or written, an identity, or a regular expression): a repository's config sets it only once trusted
(``config.trust``), and ``trusted_paths`` lists those keys from the schema.
"""

from __future__ import annotations

import copy
import difflib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

KeyPath = tuple[str | int, ...]
Emit = Callable[[KeyPath, str], None]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Spec:
    """One node of the schema."""

    name = "value"
    default: Any = MISSING
    doc: str = ""
    trust: bool = False  # program-like: a repository's config sets it only once trusted

    def check(self, value: Any, path: KeyPath, emit: Emit) -> None:
        raise NotImplementedError

    def defaults(self) -> Any:
        return copy.deepcopy(self.default)

    @property
    def has_default(self) -> bool:
        return self.default is not MISSING


@dataclass(frozen=True)
class Scalar(Spec):
    kinds: tuple[type, ...]
    name: str = "value"
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    nullable: bool = False
    default: Any = MISSING
    doc: str = ""
    trust: bool = False

    def check(self, value: Any, path: KeyPath, emit: Emit) -> None:
        if value is None and self.nullable:
            return
        # bool is an int in Python; a YAML `yes` must not pass as a number.
        if isinstance(value, bool) and bool not in self.kinds:
            emit(path, f"expected {self.name}, got a boolean")
            return
        if not isinstance(value, self.kinds):
            emit(path, f"expected {self.name}, got {describe(value)}")
            return
        if self.choices is not None and value not in self.choices:
            hint = did_you_mean(str(value), [str(c) for c in self.choices])
            emit(path, f"{value!r} is not one of {', '.join(map(str, self.choices))}{hint}")
        if isinstance(value, float) and not math.isfinite(value):
            emit(path, f"must be a finite number, got {value}")
            return
        if self.minimum is not None and isinstance(value, int | float) and value < self.minimum:
            emit(path, f"must be at least {self.minimum:g}, got {value}")
        if self.maximum is not None and isinstance(value, int | float) and value > self.maximum:
            emit(path, f"must be at most {self.maximum:g}, got {value:g}")


@dataclass(frozen=True)
class Seq(Spec):
    item: Spec
    name: str = "a list"
    default: Any = MISSING
    doc: str = ""
    trust: bool = False

    def check(self, value: Any, path: KeyPath, emit: Emit) -> None:
        if not isinstance(value, list):
            emit(path, f"expected {self.name}, got {describe(value)}")
            return
        for index, item in enumerate(value):
            self.item.check(item, (*path, index), emit)


@dataclass(frozen=True)
class Section(Spec):
    """A mapping with a fixed set of known keys (all optional). Unknown keys are errors."""

    fields: Mapping[str, Spec]
    name: str = "a mapping"
    doc: str = ""

    def check(self, value: Any, path: KeyPath, emit: Emit) -> None:
        if not isinstance(value, dict):
            emit(path, f"expected {self.name}, got {describe(value)}")
            return
        for key, item in value.items():
            spec = self.fields.get(key) if isinstance(key, str) else None
            if spec is None:
                emit((*path, str(key)), f"unknown key {key!r}{did_you_mean(str(key), list(self.fields))}")
                continue
            spec.check(item, (*path, key), emit)

    def defaults(self) -> Any:
        return {key: spec.defaults() for key, spec in self.fields.items() if spec.has_default}

    @property
    def has_default(self) -> bool:
        return True


@dataclass(frozen=True)
class Table(Spec):
    """A mapping from user-chosen keys (model ids, tier names) to values of one shape."""

    value: Spec
    keys: tuple[str, ...] | None = None
    name: str = "a mapping"
    default: Any = MISSING
    doc: str = ""
    trust: bool = False

    def check(self, value: Any, path: KeyPath, emit: Emit) -> None:
        if not isinstance(value, dict):
            emit(path, f"expected {self.name}, got {describe(value)}")
            return
        for key, item in value.items():
            if not isinstance(key, str):
                emit((*path, str(key)), f"keys must be strings, got {describe(key)}")
                continue
            if self.keys is not None and key not in self.keys:
                emit((*path, key), f"unknown key {key!r}{did_you_mean(key, list(self.keys))}")
                continue
            self.value.check(item, (*path, key), emit)


@dataclass(frozen=True)
class AnyOf(Spec):
    options: tuple[Spec, ...]
    name: str = "value"
    default: Any = MISSING
    doc: str = ""
    trust: bool = False

    def check(self, value: Any, path: KeyPath, emit: Emit) -> None:
        for option in self.options:
            problems: list[str] = []

            def collect(_path: KeyPath, message: str, found: list[str] = problems) -> None:
                found.append(message)

            option.check(value, path, collect)
            if not problems:
                return
        emit(path, f"expected {self.name}, got {describe(value)}")


def trusted_paths(spec: Spec, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The key paths marked ``trust=True`` under ``spec``, in schema order (a marked key's own
    keys are not listed again)."""
    if spec.trust:
        return [path]
    if isinstance(spec, Section):
        return [found for key, item in spec.fields.items() for found in trusted_paths(item, (*path, key))]
    return []


def string(name: str = "a string", **kw: Any) -> Scalar:
    return Scalar((str,), name=name, **kw)


# Larger values are mistakes, and some (a timedelta of 1e20 minutes) would only fail later, at use.
MAX_INTEGER = 10**12
MAX_NUMBER = 1e9


def integer(minimum: float | None = 0, maximum: float | None = MAX_INTEGER, **kw: Any) -> Scalar:
    return Scalar((int,), name="an integer", minimum=minimum, maximum=maximum, **kw)


def number(minimum: float | None = 0, maximum: float | None = MAX_NUMBER, **kw: Any) -> Scalar:
    """A number of the schema: finite, and within [minimum, maximum]."""
    return Scalar((int, float), name="a number", minimum=minimum, maximum=maximum, **kw)


def boolean(**kw: Any) -> Scalar:
    return Scalar((bool,), name="true or false", **kw)


def strings(**kw: Any) -> Seq:
    return Seq(string(), **kw)


def did_you_mean(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def describe(value: Any) -> str:
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


def dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out
