from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloisterctl.errors import ConfigError
from cloisterctl.routing.history import read_history
from testing.helpers import run, write_config, write_tasks


def test_a_history_file_is_counts_and_a_bad_one_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    assert read_history(path) == {}
    path.write_text(json.dumps({"counts": {"simple/haiku": [10, 2, 8, 8, 0, 0]}, "cells": []}))
    assert read_history(path) == {"simple/haiku": [10, 2, 8, 8, 0, 0]}
    for bad in ("{", json.dumps({"counts": {"simple/haiku": [1, 2]}}), json.dumps([1])):
        path.write_text(bad)
        with pytest.raises(ConfigError, match=str(path)):
            read_history(path)


def test_route_learns_from_the_user_level_history(workspace: Path, tmp_path: Path) -> None:
    write_tasks(workspace, [{"id": "h-1", "title": "x", "status": "open", "labels": ["difficulty:<15 min fix"]}])
    history = tmp_path / "history.json"
    history.write_text(json.dumps({"counts": {"simple/haiku": [10, 2, 8, 8, 0, 0]}}))
    write_config(workspace, f"routing:\n  history: {history}\n  explore_min: 0\n")
    data = json.loads(run(workspace, "route", "h-1", "--json").output)
    assert (data["tier"], data["rule"]) == ("sonnet", "routing.adaptive")
    assert next(row for row in data["adaptive"]["tiers"] if row["tier"] == "haiku")["n"] == 10
