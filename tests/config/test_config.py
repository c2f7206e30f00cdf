from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cloisterctl.config.load import load_config
from cloisterctl.config.schema import DEFAULTS
from cloisterctl.errors import ConfigError
from testing.helpers import REPO_ROOT, run

SPEC_EXAMPLE = """\
handoffs:
  auto_triggers:
    planning_complete: {enabled: true, from_model: opus, to_model: sonnet}
    stuck_escalation:
      enabled: true
      thresholds: {haiku_to_sonnet_minutes: 10, sonnet_to_opus_minutes: 20}
"""


def write_config(ws: Path, text: str) -> Path:
    path = ws / ".cloister" / "config.yaml"
    path.write_text(text)
    return path


OLD_NAME_WARNING = (
    ".cloister/config.yaml:4: handoffs.auto_triggers.stuck_escalation: "
    "deprecated: renamed to handoffs.auto_triggers.stuck (read as that for now)"
)


def test_the_spec_example_validates_unchanged(workspace: Path) -> None:
    """Its `stuck_escalation` is the old name of `stuck`: still read, with a warning."""
    write_config(workspace, SPEC_EXAMPLE)
    result = run(workspace, "config", "validate")
    assert result.exit_code == 0, result.output
    assert "config ok" in result.stdout
    assert result.stderr == f"warning: {OLD_NAME_WARNING}\n"
    config = load_config(workspace / ".cloister" / "config.yaml")
    assert config.trigger("planning_complete") == {
        **DEFAULTS["handoffs"]["auto_triggers"]["planning_complete"],
        "enabled": True,
        "from_model": "opus",
        "to_model": "sonnet",
    }
    assert config.data["handoffs"]["auto_triggers"]["stuck"]["thresholds"]["sonnet_to_opus_minutes"] == 20
    assert "stuck_escalation" not in config.data["handoffs"]["auto_triggers"]
    assert config.sources["handoffs.auto_triggers.stuck.thresholds.sonnet_to_opus_minutes"] == ".cloister/config.yaml:6"
    assert config.warnings == (OLD_NAME_WARNING,)


def test_the_old_name_of_the_stuck_section_still_works_and_is_reported(workspace: Path) -> None:
    write_config(
        workspace,
        "handoffs:\n  auto_triggers:\n    stuck_escalation:\n      thresholds: {haiku_to_sonnet_minutes: 3}\n",
    )
    config = load_config(workspace / ".cloister" / "config.yaml")
    assert config.stuck_threshold("haiku") == 3.0 and config.stuck_threshold("sonnet") == 20.0
    warning = (
        ".cloister/config.yaml:3: handoffs.auto_triggers.stuck_escalation: "
        "deprecated: renamed to handoffs.auto_triggers.stuck (read as that for now)"
    )
    validated = json.loads(run(workspace, "config", "validate", "--json").output)
    assert (validated["valid"], validated["warnings"]) == (True, [warning])
    assert warning in json.loads(run(workspace, "status", "--json").output)["problems"]
    assert warning in json.loads(run(workspace, "tick", "--json").output)[0]["problems"]
    assert (
        "handoffs.auto_triggers.stuck.thresholds.haiku_to_sonnet_minutes = 3" in run(workspace, "config", "show").output
    )
    write_config(workspace, "handoffs:\n  auto_triggers:\n    stuck: {thresholds: {haiku_to_sonnet_minutes: 3}}\n")
    assert load_config(workspace / ".cloister" / "config.yaml").warnings == ()


def test_the_old_and_the_new_name_together_are_one_error_naming_the_file(workspace: Path) -> None:
    write_config(
        workspace,
        "handoffs:\n  auto_triggers:\n    stuck: {enabled: true}\n    stuck_escalation: {enabled: false}\n",
    )
    expected = (
        ".cloister/config.yaml:4: handoffs.auto_triggers.stuck_escalation: "
        "handoffs.auto_triggers.stuck is set too; stuck_escalation is its old name: keep only stuck"
    )
    result = run(workspace, "config", "validate")
    assert (result.exit_code, result.output) == (1, expected + "\n")  # not also an unknown key
    with pytest.raises(ConfigError) as raised:
        load_config(workspace / ".cloister" / "config.yaml")
    assert str(raised.value) == expected
    status = run(workspace, "status")
    assert (status.exit_code, status.output) == (1, f"cloisterctl: error: {expected}\n")


def test_a_mistyped_key_names_file_line_and_a_suggestion(workspace: Path) -> None:
    write_config(workspace, "tick:\n  commit: true\n\n  comit: false\n")
    result = run(workspace, "config", "validate")
    assert result.exit_code == 1
    assert result.output.strip() == (
        ".cloister/config.yaml:4: tick.comit: unknown key 'comit' (did you mean 'commit'?)"
    )


def test_every_problem_is_reported_in_one_pass(workspace: Path) -> None:
    write_config(
        workspace,
        "handoffs:\n"
        "  auto_trigers: {}\n"
        "  guards:\n"
        "    cooldown_minutes: ten\n"
        "    max_escalations: true\n"
        "complexity_routing:\n"
        "  trivial: gpt-4o\n"
        "runtime:\n"
        "  spawn: [claude, '{modle}']\n",
    )
    result = run(workspace, "config", "validate", "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["valid"] is False
    assert report["problems"] == [
        ".cloister/config.yaml:2: handoffs.auto_trigers: unknown key 'auto_trigers' (did you mean 'auto_triggers'?)",
        ".cloister/config.yaml:4: handoffs.guards.cooldown_minutes: expected a number, got a string ('ten')",
        ".cloister/config.yaml:5: handoffs.guards.max_escalations: expected an integer, got a boolean",
        ".cloister/config.yaml:7: complexity_routing.trivial: unknown model 'gpt-4o': it matches no tier; "
        "add a pattern under tiers.<tier>.patterns in .cloister/config.yaml",
        ".cloister/config.yaml:9: runtime.spawn[1]: unknown placeholder {modle} (did you mean 'model'?); "
        "known: {agent}, {model}, {prompt}, {prompt_file}, {session_id}, {tier}, {workspace}",
    ]


def test_broken_yaml_is_one_line_and_exit_1(workspace: Path) -> None:
    write_config(workspace, "tick:\n  commit: [true\n")
    for args in (("config", "validate"), ("config", "show"), ("init",)):
        result = run(workspace, *args)
        assert result.exit_code == 1
        assert result.output.count("\n") == 1
        assert result.output.startswith("cloisterctl: error: .cloister/config.yaml:3: invalid YAML:")
        assert "Traceback" not in result.output


def test_duplicate_keys_are_reported(workspace: Path) -> None:
    write_config(workspace, "tick:\n  commit: true\n  commit: false\n")
    result = run(workspace, "config", "validate")
    assert result.exit_code == 1
    assert ".cloister/config.yaml:3: tick.commit: duplicate key" in result.output


def test_layering_and_provenance(workspace: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = isolated_env / ".config" / "cloisterctl" / "config.yaml"
    user.parent.mkdir(parents=True)
    user.write_text("tick:\n  commit: false\n  wait_seconds: 7\ntiers:\n  opus: {model: claude-opus-4-5-20251101}\n")
    write_config(workspace, "tick:\n  wait_seconds: 1\n")
    monkeypatch.setenv("CLOISTER_LOCK_TIMEOUT", "2.5")
    result = run(workspace, "config", "show", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["config"]["tick"]["commit"] is False
    assert shown["config"]["tick"]["wait_seconds"] == 1
    assert shown["config"]["tiers"]["opus"]["model"] == "claude-opus-4-5-20251101"
    # Merging a mapping keeps the keys the layer did not set.
    assert shown["config"]["tiers"]["opus"]["patterns"] == DEFAULTS["tiers"]["opus"]["patterns"]
    assert shown["config"]["lock_timeout_seconds"] == 2.5
    sources = shown["sources"]
    assert sources["tick.commit"] == f"{user}:2"
    assert sources["tick.wait_seconds"] == ".cloister/config.yaml:2"
    assert sources["tiers.opus.model"] == f"{user}:5"
    assert sources["lock_timeout_seconds"] == "env"
    assert sources["tick.author_name"] == "default"
    text = run(workspace, "config", "show").output
    assert "tick.wait_seconds = 1  # .cloister/config.yaml:2" in text.splitlines()


def _user_file(path: Path, wait_seconds: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"tick:\n  wait_seconds: {wait_seconds}\n")
    return path


def _shown_wait(ws: Path) -> tuple[int, str]:
    """tick.wait_seconds as `config show` has it, and where it came from."""
    result = run(ws, "config", "show", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    return shown["config"]["tick"]["wait_seconds"], shown["sources"]["tick.wait_seconds"]


def test_the_user_config_is_under_xdg_config_home(
    workspace: Path, isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = _user_file(isolated_env / ".config" / "cloisterctl" / "config.yaml", 4)
    assert _shown_wait(workspace) == (4, f"{default}:2")  # XDG_CONFIG_HOME unset: ~/.config
    moved = _user_file(tmp_path / "xdg" / "cloisterctl" / "config.yaml", 5)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert _shown_wait(workspace) == (5, f"{moved}:2")
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")  # not absolute: the XDG spec says ignore it
    assert _shown_wait(workspace) == (4, f"{default}:2")
    monkeypatch.setenv("XDG_CONFIG_HOME", "")
    assert _shown_wait(workspace) == (4, f"{default}:2")


def test_the_old_user_config_is_read_until_the_new_one_exists(workspace: Path, isolated_env: Path) -> None:
    old = _user_file(isolated_env / ".panopticon" / "cloister.yaml", 6)
    old.write_text(old.read_text() + "lock_timeout_seconds: 3\n")
    assert _shown_wait(workspace) == (6, f"{old}:2")
    new = _user_file(isolated_env / ".config" / "cloisterctl" / "config.yaml", 7)
    assert _shown_wait(workspace) == (7, f"{new}:2")
    # Not merged: the old file is ignored whole, so its other keys are gone too.
    shown = json.loads(run(workspace, "config", "show", "--json").output)
    assert shown["config"]["lock_timeout_seconds"] == DEFAULTS["lock_timeout_seconds"]
    assert str(old) not in run(workspace, "config", "validate").output
    new.unlink()
    assert _shown_wait(workspace) == (6, f"{old}:2")


def test_loading_again_after_the_new_user_config_appears_reads_it(workspace: Path, isolated_env: Path) -> None:
    """The loaded config is memoised by its inputs: which user file is read is one of them."""
    _user_file(isolated_env / ".panopticon" / "cloister.yaml", 6)
    config_path = workspace / ".cloister" / "config.yaml"
    assert load_config(config_path).data["tick"]["wait_seconds"] == 6
    _user_file(isolated_env / ".config" / "cloisterctl" / "config.yaml", 6)  # the same bytes
    assert load_config(config_path).sources["tick.wait_seconds"].startswith(str(isolated_env / ".config"))


def test_a_bad_environment_value_names_the_variable(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOISTER_TICK_COMMIT", "maybe")
    result = run(workspace, "config", "validate")
    assert result.exit_code == 1
    assert "env CLOISTER_TICK_COMMIT: tick.commit: 'maybe': expected true/false" in result.output


def test_validate_named_files(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(SPEC_EXAMPLE)
    bad = tmp_path / "bad.yaml"
    bad.write_text("handoffs:\n  guards:\n    require_approval: [escalate_to_opus, sometimes]\n")
    assert run(tmp_path, "config", "validate", str(good)).exit_code == 0
    result = run(tmp_path, "config", "validate", str(good), str(bad))
    assert result.exit_code == 1
    assert f"{bad}:3: handoffs.guards.require_approval: expected true, false, or a list of" in result.output


def test_validate_refuses_a_fifo_a_device_and_binary_in_one_line(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    for path, why in ((fifo, "not a regular file"), (Path("/dev/zero"), "not a regular file"), (binary, "not UTF-8")):
        result = run(tmp_path, "config", "validate", str(path))
        assert result.exit_code == 1 and f"{path}: {why}" in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1


def test_require_approval_accepts_the_spec_list(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "handoffs:\n  guards:\n    require_approval: [cross_runtime, escalate_to_opus, downgrade_from_opus]\n"
    )
    assert load_config(path).data["handoffs"]["guards"]["require_approval"] == [
        "cross_runtime",
        "escalate_to_opus",
        "downgrade_from_opus",
    ]


def test_tier_model_must_belong_to_its_tier(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("tiers:\n  haiku: {model: claude-sonnet-4-6}\n")
    with pytest.raises(
        ConfigError, match=r"c.yaml:2: tiers.haiku.model: 'claude-sonnet-4-6' normalises to tier 'sonnet'"
    ):
        load_config(path)


def test_a_non_mapping_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="the file must be a mapping"):
        load_config(path)


def test_empty_file_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("# nothing set\n")
    assert load_config(path).data["tick"]["commit"] is True


def test_the_builtin_defaults_are_valid() -> None:
    """load_config skips validation when no file or variable sets anything: this is why it may."""
    from cloisterctl.config.layers import defaults_layer, merge_layers
    from cloisterctl.config.schema import SCHEMA
    from cloisterctl.config.settings import Config
    from cloisterctl.config.validate import _semantic_problems

    layer = defaults_layer()
    problems: list[str] = []

    SCHEMA.check(layer.data, (), lambda path, message: problems.append(f"{path}: {message}"))
    assert problems == []
    assert _semantic_problems(Config(*merge_layers([layer]))) == []


def test_a_comment_only_config_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("# tick:\n#   commit: false\n\n   # indented comment\n")
    assert load_config(path, environ={}).sources["tick.commit"] == "default"


def test_the_config_template_uncommented_is_valid_and_uses_no_old_names(tmp_path: Path) -> None:
    _header, body = (REPO_ROOT / "templates" / "config.yaml").read_text().split("\n\n", 1)
    path = tmp_path / "config.yaml"
    path.write_text("\n".join(line.removeprefix("# ") for line in body.splitlines()) + "\n")
    config = load_config(path, environ={})
    assert config.sources["handoffs.auto_triggers.stuck.thresholds.opus_flag_minutes"].startswith(str(path))
    assert config.warnings == ()
