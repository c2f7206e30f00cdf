"""files.memo: a memo is used only when its key, its deadline and every input's stamp hold."""

from __future__ import annotations

import os
import time
from pathlib import Path

from cloisterctl.files import memo


def _inputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    kept = tmp_path / "input.txt"
    kept.write_text("one\n")
    directory = tmp_path / "dir"
    directory.mkdir()
    return kept, directory, tmp_path / "absent.txt"


def test_a_memo_is_recalled_while_its_inputs_hold_and_not_after(tmp_path: Path) -> None:
    kept, directory, absent = _inputs(tmp_path)
    path = str(tmp_path / "cache" / "m.memo")
    outputs = {"json": b'{"a": 1}\n', "text": b"a table\nwith lines\n\n"}
    assert memo.keep(path, "k", memo.stamp([str(kept), str(directory), str(absent)]), outputs)
    assert memo.recall(path, "k") == outputs
    assert memo.recall(path, "other key") is None

    (directory / "new").write_text("")  # an entry added to a directory it looked in
    assert memo.recall(path, "k") is None
    memo.keep(path, "k", memo.stamp([str(kept), str(directory), str(absent)]), outputs)
    absent.write_text("appeared")  # a file it looked for
    assert memo.recall(path, "k") is None
    memo.keep(path, "k", memo.stamp([str(kept), str(directory), str(absent)]), outputs)
    with kept.open("a") as handle:
        handle.write("two\n")
    assert memo.recall(path, "k") is None


def test_a_memo_past_its_deadline_is_not_used(tmp_path: Path) -> None:
    kept, _directory, _absent = _inputs(tmp_path)
    path = str(tmp_path / "m.memo")
    memo.keep(path, "k", memo.stamp([str(kept)]), {"out": b"x"}, until=time.time() + 3600)
    assert memo.recall(path, "k") == {"out": b"x"}
    memo.keep(path, "k", memo.stamp([str(kept)]), {"out": b"x"}, until=time.time() - 1)
    assert memo.recall(path, "k") is None


def test_torn_foreign_or_garbled_memos_are_not_used(tmp_path: Path) -> None:
    kept, _directory, _absent = _inputs(tmp_path)
    path = tmp_path / "m.memo"
    memo.keep(str(path), "k", memo.stamp([str(kept)]), {"out": b"0123456789"})
    whole = path.read_bytes()
    for broken in (
        whole[:-3],  # torn inside an output
        whole[: whole.index(b"input")],  # torn before the inputs: no output at all is fine, but...
        b"cloisterctl memo 2\n" + whole[len(memo.HEADER) :],  # another version
        whole.replace(b"until -", b"until soon"),
        whole.replace(b"input ", b"input x "),
        whole.replace(b"output out 10", b"output out -5"),
        whole + b"trailing words\n",
        b"",
    ):
        path.write_bytes(broken)
        recalled = memo.recall(str(path), "k")
        assert recalled is None or recalled == {}, broken


def test_what_cannot_be_written_faithfully_is_not_kept(tmp_path: Path) -> None:
    odd = tmp_path / "a\nb"
    odd.write_text("")
    path = str(tmp_path / "m.memo")
    assert not memo.keep(path, "k", memo.stamp([str(odd)]), {"out": b"x"})
    assert not memo.keep(path, "k\nj", {}, {"out": b"x"})
    assert not os.path.exists(path)
    unwritable = tmp_path / "file"
    unwritable.write_text("")
    assert not memo.keep(str(unwritable / "m.memo"), "k", {}, {"out": b"x"})
