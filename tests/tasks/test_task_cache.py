"""The tasks parsed from the beads JSONL are kept between runs, versioned by the code that parses
and shapes them: a cache made by other code is parsed again, never taken."""

from __future__ import annotations

import json
from pathlib import Path

from cloisterctl.tasks.beads import TASK_CACHE_MODULES, JsonlTracker
from testing.helpers import beads_repo
from testing.imports import imported

TITLE = "Add 'bd dolt remote' subcommands (add/list/remove)"  # bd-fhh's, in the JSONL


def test_the_task_cache_version_covers_what_the_tracker_imports() -> None:
    assert imported("cloisterctl.tasks.beads", within=("cloisterctl.tasks",)) - set(TASK_CACHE_MODULES) == set()


def test_a_task_cache_of_other_code_is_parsed_again(tmp_path: Path) -> None:
    jsonl = beads_repo(tmp_path) / ".beads" / "issues.jsonl"
    cache = tmp_path / "tasks.cache"
    assert JsonlTracker(jsonl, cache_path=cache).all_tasks()["bd-fhh"].title == TITLE
    kept = json.loads(cache.read_bytes())
    # A cache whose tasks say something the file does not: taken only while its version is this code's.
    for task in kept["tasks"]:
        if task["id"] == "bd-fhh":
            task["title"] = "as the cache has it"
    cache.write_text(json.dumps(kept))
    assert JsonlTracker(jsonl, cache_path=cache).all_tasks()["bd-fhh"].title == "as the cache has it"
    cache.write_text(json.dumps({**kept, "version": "0123456789abcdef"}))
    assert JsonlTracker(jsonl, cache_path=cache).all_tasks()["bd-fhh"].title == TITLE
    assert json.loads(cache.read_bytes())["version"] == kept["version"]  # and written again by this code
