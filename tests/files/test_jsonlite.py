"""model.jsonlite reads what json reads, to the same values, and refuses what json refuses."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from cloisterctl.files.jsonlite import MAX_DEPTH, loads
from testing.helpers import FIXTURES

ALPHABET = ["a", "Z", " ", '"', "\\", "/", "\n", "\t", "\x00", "\x1f", "é", "€", "😀", "\ud800", "\udfff", "\u2028"]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 6 else 5)
    if kind == 0:
        return rng.choice([True, False, None])
    if kind == 1:
        return rng.randrange(-(10**20), 10**20)
    if kind == 2:
        return rng.choice([0.0, -0.0, 1.5, -2.25e-300, 1e300, rng.uniform(-1e6, 1e6)])
    if kind in (3, 4):
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 12)))
    if kind == 5:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(0, 5))]
    keys = [f"k{rng.randrange(9)}{rng.choice(ALPHABET)}" for _ in range(rng.randrange(0, 5))]
    return {key: random_value(rng, depth + 1) for key in keys}


def same(text: str) -> None:
    expected = json.loads(text)
    found = loads(text)
    assert json.dumps(found) == json.dumps(expected) and type(found) is type(expected), text


def test_random_documents_in_every_layout_read_as_json_reads_them() -> None:
    rng = random.Random(8)
    for _ in range(400):
        value = random_value(rng)
        for options in ({}, {"ensure_ascii": False}, {"indent": 2}, {"separators": (",", ":")}):
            same(json.dumps(value, **options))


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "-0",
        "12",
        "-12.5e+3",
        "1E5",
        "1e-7",
        "0.25",
        '"\\u00e9\\ud83d\\ude00"',
        '"\\ud800x"',
        '"\\udc00\\ud800"',
        '"\\ud83d\\u0041"',
        ' \t\n{ "a" : [ 1 , { } , [ ] ] }\r\n',
        '{"a": 1, "a": 2}',
        '"\\/\\b\\f\\n\\r\\t\\"\\\\"',
        "123456789012345678901234567890",
    ],
)
def test_edge_cases_read_alike(text: str) -> None:
    same(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "01",
        "-",
        "1.",
        ".5",
        "1e",
        "1e+",
        "+1",
        "0x10",
        "tru",
        "nul",
        "[1,]",
        "{,}",
        '{"a":1,}',
        "[1 2]",
        '{"a" 1}',
        "{1: 2}",
        '"abc',
        '"a\nb"',
        '"\\x41"',
        '"\\u12"',
        '"\\u12G4"',
        "[1]]",
        "1 2",
        "\ufeff1",
        "NaN",
        "Infinity",
        "-Infinity",
        "'a'",
        '{"a":}',
    ],
)
def test_what_json_refuses_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        loads(text)


def test_deep_nesting_is_refused_not_a_crash() -> None:
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(ValueError, match="too deep"):
        loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    with pytest.raises(ValueError):
        loads('{"a":' * 100_000)


def test_claude_codes_own_statusline_input_reads_as_json_reads_it() -> None:
    text = (FIXTURES / "claude-code" / "statusline-input.json").read_text(encoding="utf-8")
    same(text)
