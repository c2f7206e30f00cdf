from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloisterctl.errors import StateFileError
from cloisterctl.ledger import statefile

P = Path("STATE.md")

# ------------------------------------------------------------------ generators of real-looking STATE.md files

names = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(lambda n: n != "cloister")
words = st.from_regex(r"[A-Za-z][A-Za-z0-9 ]{0,12}[A-Za-z0-9]", fullmatch=True)


@st.composite
def other_entry(draw: st.DrawFn, key: str) -> list[str]:
    """One top-level key in one of the styles people write, as lines without line ends."""
    style = draw(st.sampled_from(["plain", "single", "double", "int", "flow", "block", "comment_after"]))
    word = draw(words)
    if style == "plain":
        return [f"{key}: {word}"]
    if style == "single":
        return [f"{key}: '{word}'"]
    if style == "double":
        return [f'{key}: "{word}"']
    if style == "int":
        return [f"{key}: {draw(st.integers(-1000, 10**6))}"]
    if style == "flow":
        return [f"{key}: [{word}, 2, x]"]
    if style == "block":
        return [f"{key}:", f"  sub: {word}", "  # inner note", "  other: 'q'"]
    return [f"{key}: {word}  # trailing note"]


@st.composite
def state_documents(draw: st.DrawFn) -> dict[str, Any]:
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    bom = draw(st.sampled_from(["", "\ufeff"]))
    keys = draw(st.lists(names, unique=True, max_size=5))
    entries: list[list[str]] = []
    for key in keys:
        entries.append(draw(other_entry(key)))
        if draw(st.booleans()):
            entries.append([draw(st.sampled_from(["", "# a comment", "#", "   "]))])
    has_block = draw(st.booleans())
    position = draw(st.integers(0, len(entries)))
    block_lines = [
        "cloister:",
        "  tier: haiku",
        "  # machine-written",
        "  cost: {total_usd: 1.5}",
        "  task: 'bd-1'",
    ]
    body = draw(
        st.sampled_from(
            [
                "",
                "# Title{nl}",
                "# Title{nl}{nl}---{nl}not front matter{nl}",
                "{nl}{nl}text without final newline",
                "text{nl}{nl}{nl}",
            ]
        )
    ).format(nl=newline)
    before = [line for entry in entries[:position] for line in entry]
    after = [line for entry in entries[position:] for line in entry]

    def join(lines: list[str]) -> str:
        return "".join(line + newline for line in lines)

    if has_block:
        head = bom + "---" + newline + join(before)
        tail = join(after) + "---" + newline + body
    else:  # a new block goes last, just before the closing '---'
        head = bom + "---" + newline + join(before) + join(after)
        tail = "---" + newline + body
    text = head + (join(block_lines) if has_block else "") + tail
    return {"text": text, "head": head, "tail": tail, "has_block": has_block, "newline": newline, "bom": bom}


scalars = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
cloister_data = st.dictionaries(
    st.from_regex(r"[a-z_]{1,10}", fullmatch=True),
    st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), inner, max_size=3)
        ),
        max_leaves=8,
    ),
    max_size=6,
)


def others(front_matter: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in front_matter.items() if k != "cloister"}


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(state_documents(), cloister_data)
def test_update_changes_only_the_cloister_block(doc: dict[str, Any], data: dict[str, Any]) -> None:
    original = statefile.parse(doc["text"], P)
    updated = statefile.with_cloister(original, data)
    assert updated.startswith(doc["head"])
    assert updated.endswith(doc["tail"])
    reread = statefile.parse(updated, P)
    assert reread.front_matter["cloister"] == data
    assert others(reread.front_matter) == others(original.front_matter)
    assert reread.body == original.body
    # The inserted block uses the file's own line ends.
    middle = updated[len(doc["head"]) : len(updated) - len(doc["tail"])]
    if doc["newline"] == "\r\n":
        assert middle.count("\n") == middle.count("\r\n")
    else:
        assert "\r" not in middle.replace("\\r", "")
    # Updating again with the same data is the identity.
    assert statefile.with_cloister(reread, data) == updated


@settings(max_examples=100)
@given(doc=state_documents())
def test_load_and_save_without_change_is_byte_identical(
    doc: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("s") / "STATE.md"
    path.write_bytes(doc["text"].encode("utf-8"))
    loaded = statefile.read(path)
    if doc["has_block"]:
        assert statefile.write_cloister(path, loaded.cloister) is False
        assert path.read_bytes() == doc["text"].encode("utf-8")
    assert statefile.with_cloister(loaded, loaded.front_matter.get("cloister")) == doc["text"] or not doc["has_block"]


@settings(max_examples=100)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200), cloister_data)
def test_a_file_without_front_matter_gets_one_in_front(body: str, data: dict[str, Any]) -> None:
    if body.lstrip("\ufeff").split("\n", 1)[0].rstrip() == "---":
        return
    original = statefile.parse(body, P)
    updated = statefile.with_cloister(original, data)
    bom = "\ufeff" if body.startswith("\ufeff") else ""
    assert updated.startswith(bom + "---")
    assert updated.endswith(body[len(bom) :])
    assert statefile.parse(updated, P).front_matter == {"cloister": data}


def test_crlf_file_keeps_crlf_everywhere(tmp_path: Path) -> None:
    path = tmp_path / "STATE.md"
    path.write_bytes(b"---\r\ntitle: x\r\n---\r\nbody\r\n")
    assert statefile.write_cloister(path, {"tier": "opus", "cost": {"total_usd": 0.5}})
    raw = path.read_bytes()
    assert raw == b"---\r\ntitle: x\r\ncloister:\r\n  tier: opus\r\n  cost:\r\n    total_usd: 0.5\r\n---\r\nbody\r\n"


def test_block_is_replaced_in_place_and_neighbours_survive(tmp_path: Path) -> None:
    text = (
        "---\n"
        "# leading comment\n"
        "title: 'Quoted: yes'\n"
        "cloister:\n"
        "  tier: haiku\n"
        "  cost: {total_usd: 1}\n"
        "\n"
        "# about owner\n"
        'owner: "me"   # who\n'
        "---\n"
        "\n"
        "Body keeps its blank line.\n"
        "no final newline"
    )
    path = tmp_path / "STATE.md"
    path.write_text(text)
    statefile.write_cloister(path, {"tier": "sonnet"})
    assert path.read_text() == text.replace("  tier: haiku\n  cost: {total_usd: 1}\n", "  tier: sonnet\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("---\ntitle: [unclosed\n---\nbody\n", r"STATE.md:3: invalid YAML in front matter"),
        ("---\ntitle: x\nbody without end\n", r"STATE.md:1: front matter starts with '---' but has no closing"),
        ("---\n- a\n- b\n---\n", r"front matter must be a mapping"),
        ("---\ncloister: just text\n---\n", r"STATE.md:2: 'cloister:' must be a mapping"),
        ("---\n{title: x, cloister: {a: 1}}\n---\n", r"must be block-style YAML"),
    ],
)
def test_invalid_front_matter_is_an_error_and_the_file_is_untouched(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "STATE.md"
    path.write_text(text)
    with pytest.raises(StateFileError, match=message):
        statefile.write_cloister(path, {"tier": "opus"})
    assert path.read_text() == text


def test_rendered_block_is_plain_block_yaml() -> None:
    block = statefile.render_block({"model": "claude-opus-4-7", "ts": "2026-11-22T07:00:00Z", "n": 1}, "\n")
    assert yaml.safe_load(block) == {"cloister": {"model": "claude-opus-4-7", "ts": "2026-11-22T07:00:00Z", "n": 1}}
    assert block.startswith("cloister:\n  model: claude-opus-4-7\n")
