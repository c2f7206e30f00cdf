from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from cloisterctl.errors import ToolError
from cloisterctl.runtime.tmux import Tmux, fill_template, session_name
from testing.helpers import pane_text


def wait_for(predicate: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


ECHO_LINES = [
    sys.executable,
    "-c",
    "import sys\n"
    "sys.stdout.write('ready\\n'); sys.stdout.flush()\n"
    "for line in sys.stdin:\n"
    "    if line.strip() == '/exit': break\n"
    "    open(sys.argv[1], 'a').write(line)\n",
]


def test_templates_fill_each_argument_without_splitting() -> None:
    argv = fill_template(
        ["claude", "--model", "{model}", "--session-id", "{session_id}", "{prompt}"],
        {"model": "claude-opus-4-7", "session_id": "s-1", "prompt": "two words; $(rm -rf /) `x`"},
    )
    assert argv == ["claude", "--model", "claude-opus-4-7", "--session-id", "s-1", "two words; $(rm -rf /) `x`"]


def test_session_names_are_unique_per_workspace_and_tmux_safe(tmp_path: Path) -> None:
    a = session_name("cloister-", "agent.v2", tmp_path / "a")
    b = session_name("cloister-", "agent.v2", tmp_path / "b")
    assert a != b and "." not in a and ":" not in a


def test_start_send_literal_text_and_stop_with_the_exit_text(tmux_socket: str, tmp_path: Path) -> None:
    tmux = Tmux(tmux_socket)
    out = tmp_path / "received.txt"
    pid = tmux.start("agent-1", [*ECHO_LINES, str(out)], tmp_path, {"CLOISTER_SESSION_ID": "abc"})
    assert pid and tmux.alive("agent-1")
    assert tmux.environment("agent-1", "CLOISTER_SESSION_ID") == "abc"
    assert wait_for(lambda: "ready" in pane_text(tmux_socket, "agent-1"))
    tricky = "save state; echo $(whoami) `id` > /tmp/x && exit"
    tmux.send_text("agent-1", tricky)
    assert wait_for(lambda: out.exists() and out.read_text().strip() == tricky)
    assert tmux.stop("agent-1", "/exit", timeout=3) == "exit text"
    assert not tmux.alive("agent-1")


def test_exact_targets_do_not_prefix_match(tmux_socket: str, tmp_path: Path) -> None:
    tmux = Tmux(tmux_socket)
    tmux.start("agent-10", [sys.executable, "-c", "import time; time.sleep(30)"], tmp_path, {})
    assert tmux.alive("agent-10")
    assert not tmux.alive("agent-1")  # a bare "agent-1" target would match agent-10
    with pytest.raises(ToolError, match="not running"):
        tmux.send_text("agent-1", "hello")
    assert tmux.stop("agent-1", "/exit", timeout=1) == "not running"
    assert tmux.alive("agent-10")


def test_stop_escalates_to_interrupt_then_kill(tmux_socket: str, tmp_path: Path) -> None:
    tmux = Tmux(tmux_socket)
    # Ignores the exit text, dies on Ctrl-C.
    tmux.start("polite", [sys.executable, "-c", "import time\nwhile True: time.sleep(0.1)"], tmp_path, {})
    assert tmux.stop("polite", "/exit", timeout=1.5) == "interrupt"
    # Ignores the exit text and Ctrl-C: killed, and verified gone.
    stubborn = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: time.sleep(0.1)"
    tmux.start("stubborn", [sys.executable, "-c", stubborn], tmp_path, {})
    assert tmux.stop("stubborn", "/exit", timeout=1.5) == "killed"
    assert not tmux.alive("stubborn")


def test_refuses_a_second_session_with_the_same_name(tmux_socket: str, tmp_path: Path) -> None:
    tmux = Tmux(tmux_socket)
    tmux.start("one", [sys.executable, "-c", "import time; time.sleep(30)"], tmp_path, {})
    with pytest.raises(ToolError, match="already exists"):
        tmux.start("one", [sys.executable, "-c", "pass"], tmp_path, {})


def test_missing_tmux_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolError, match="tmux is not installed"):
        Tmux("x").alive("anything")
