"""ledger.statemerge: the text rules of STATE.md merges."""

from __future__ import annotations

from cloisterctl.ledger import statemerge

BASE = (
    "---\ntitle: My notes\ncloister:\n  agent: a\n  cost:\n    total_usd: 1.0\ntags:\n- x\n---\n# Notes\n\nbody line\n"
)


def conflicted(ours: str, theirs: str, *, base: str | None = None) -> str:
    middle = "" if base is None else f"|||||||\n{base}"
    return f"<<<<<<< HEAD\n{ours}{middle}=======\n{theirs}>>>>>>> side\n"


def test_a_conflict_inside_the_block_is_resolved_and_nothing_else_moves() -> None:
    text = (
        "---\ntitle: My notes\ncloister:\n  agent: a\n  cost:\n"
        + conflicted("    total_usd: 2.0\n", "    total_usd: 3.0\n", base="    total_usd: 1.0\n")
        + "tags:\n- x\n---\n# Notes\n\nbody line\n"
    )
    found = statemerge.resolve_block_conflicts(text)
    assert (found.resolved, found.front_matter_left, found.body_left) == (1, [], [])
    assert found.text == BASE.replace("1.0", "2.0")


def test_a_whole_block_in_conflict_next_to_a_key_both_sides_agree_on() -> None:
    ours = "cloister:\n  agent: a\n  tier: opus\ntags:\n- x\n"
    theirs = "cloister:\n  agent: a\n  tier: haiku\ntags:\n- x\n"
    found = statemerge.resolve_block_conflicts("---\ntitle: t\n" + conflicted(ours, theirs) + "---\nbody\n")
    assert found.resolved == 1 and "<<<<<<<" not in found.text and "tags:\n- x\n" in found.text


def test_conflicts_outside_the_block_are_left_and_named_by_line() -> None:
    text = (
        "---\n"
        + conflicted("title: mine\n", "title: theirs\n")  # the user's own key: theirs to decide
        + "cloister:\n  agent: a\n---\n# Notes\n"
        + conflicted("my line\n", "their line\n")
    )
    found = statemerge.resolve_block_conflicts(text)
    assert (found.resolved, found.front_matter_left, found.body_left) == (0, [2], [11])
    assert found.text == text


def test_the_drivers_placeholder_keeps_the_blocks_place() -> None:
    text, block = statemerge.with_placeholder(BASE)
    assert block == "cloister:\n  agent: a\n  cost:\n    total_usd: 1.0\n"
    assert text == BASE.replace(block, statemerge.PLACEHOLDER + "\n")
    assert statemerge.put_block(text, block) == BASE
    crlf = BASE.replace("\n", "\r\n")
    text, block = statemerge.with_placeholder(crlf)
    assert statemerge.put_block(text, block) == crlf
    assert statemerge.with_placeholder("# no front matter\n") == ("# no front matter\n", None)
