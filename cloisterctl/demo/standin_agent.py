"""A stand-in coding agent, for the demo and the tests (the model service cannot be reached here).

It behaves like Claude Code where cloisterctl can see it:

- started as ``python -m cloisterctl.standin_agent --model M --session-id S [PROMPT]`` (unknown
  Claude Code flags are accepted and ignored), it writes its transcript in Claude Code's shape to
  ``<config>/projects/<project dir>/<session id>.jsonl`` (``CLAUDE_CONFIG_DIR`` or ``~/.claude``):
  each response as several lines sharing ``message.id`` and ``requestId``, with usage;
- ``--resume S [PROMPT]`` continues session S, as ``claude --resume`` does: the same transcript,
  appended to, its context as it was;
- it runs the hooks configured in ``.claude/settings.json`` (SessionStart, PostToolUse, Stop) with
  the same JSON on stdin that Claude Code sends;
- it works a turn every ``--turn-seconds`` (unless ``--quiet``, or ``--quiet-models TEXT`` matches its
  model: then it sits silent, like a stuck agent);
- a line typed into its terminal that mentions STATE.md is the save-state request: it appends its
  progress to STATE.md's body, answers, fires Stop, and goes quiet;
- started as a reviewer (a prompt with ``Write your verdict as JSON to: PATH``, cloisterctl's review
  packet), it reviews after its first turn: ``fail`` when the change in the packet adds a line
  containing ``BUG``, else ``pass``, written to PATH as a reviewer would, then goes quiet;
- the exit text (``/exit``) ends it; so do Ctrl-C and SIGTERM. Otherwise it stays alive.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def project_dir_name(cwd: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "-", cwd)


def config_dir() -> Path:
    configured = os.environ.get("CLAUDE_CONFIG_DIR")
    if configured:
        return Path(configured.split(",")[0].strip())
    return Path.home() / ".claude"


class Agent:
    def __init__(self, args: argparse.Namespace) -> None:
        self.model: str = args.model
        self.session: str = args.resume or args.session_id or str(uuid.uuid4())
        self.resumed = bool(args.resume)
        self.quiet: bool = args.quiet or bool(args.quiet_models and args.quiet_models in args.model)
        self.turn_seconds: float = args.turn_seconds
        self.output_tokens: int = args.output_tokens
        self.exit_text: str = args.exit_text
        self.cwd = Path.cwd()
        self.context = 12_000 + len(args.prompt or "") // 4
        directory = config_dir() / "projects" / project_dir_name(str(self.cwd))
        directory.mkdir(parents=True, exist_ok=True)
        self.transcript = directory / f"{self.session}.jsonl"
        if self.resumed and self.transcript.exists():  # the conversation so far is still in context
            self.context += self.transcript.stat().st_size // 4
        self.turns = 0
        self.prompt = args.prompt or ""

    # -------------------------------------------------------------------- transcript

    def _now(self) -> str:
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def _write(self, record: dict[str, Any]) -> None:
        base = {"sessionId": self.session, "cwd": str(self.cwd), "version": "standin", "timestamp": self._now()}
        with self.transcript.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({**base, **record}) + "\n")

    def user(self, text: str) -> None:
        self._write({"type": "user", "uuid": str(uuid.uuid4()), "message": {"role": "user", "content": text}})

    def respond(self, text: str) -> None:
        """One API response: a streaming snapshot line, then the final line, sharing ids."""
        message_id = "msg_" + uuid.uuid4().hex[:24]
        request_id = "req_" + uuid.uuid4().hex[:24]
        written = 200 + 40 * self.turns
        usage = {
            "input_tokens": 8,
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": self.context,
            "cache_creation": {"ephemeral_5m_input_tokens": written, "ephemeral_1h_input_tokens": 0},
            "service_tier": "standard",
        }
        for output in (2, self.output_tokens):
            self._write(
                {
                    "type": "assistant",
                    "isSidechain": False,
                    "requestId": request_id,
                    "uuid": str(uuid.uuid4()),
                    "message": {
                        "id": message_id,
                        "type": "message",
                        "role": "assistant",
                        "model": self.model,
                        "content": [{"type": "text", "text": text}],
                        "usage": {**usage, "output_tokens": output},
                    },
                }
            )
        self.context += written + self.output_tokens
        self.turns += 1

    # -------------------------------------------------------------------- hooks

    def hook(self, event: str, **fields: Any) -> None:
        # Claude Code runs the hooks of the project's shared and local settings both.
        groups: list[Any] = []
        for name in ("settings.json", "settings.local.json"):
            try:
                config = json.loads((self.cwd / ".claude" / name).read_text())
            except (OSError, ValueError):
                continue
            groups += (config.get("hooks") or {}).get(event, [])
        payload = {
            "session_id": self.session,
            "transcript_path": str(self.transcript),
            "cwd": str(self.cwd),
            "hook_event_name": event,
            **fields,
        }
        for group in groups:
            for hook in group.get("hooks", []):
                if hook.get("type") == "command" and hook.get("command"):
                    # Claude Code runs hook commands through a shell; so does its stand-in.
                    subprocess.run(
                        hook["command"], shell=True, input=json.dumps(payload), text=True, timeout=30, check=False
                    )

    # -------------------------------------------------------------------- behaviour

    def work(self) -> None:
        self.respond(f"Working on it (turn {self.turns + 1}).")
        self.hook(
            "PostToolUse",
            tool_name="Bash",
            tool_input={"command": "ls src"},
            tool_use_id="toolu_" + uuid.uuid4().hex[:12],
            tool_response={"stdout": "main.py\n", "stderr": "", "interrupted": False},
        )
        self.hook("Stop", stop_hook_active=False)

    def save_state(self) -> None:
        """Answer the save-state request the way a diligent agent would: progress into STATE.md."""
        path = self.cwd / "STATE.md"
        note = f"- {self._now()} {self.model}: saved progress after {self.turns} turns; next: continue the open tasks."
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            text = ""
        heading = text.find("\n## Progress")
        if heading >= 0:
            cut = text.find("\n", heading + 1) + 1 or len(text)
            text = text[:cut] + "\n" + note + "\n" + text[cut:]
        else:
            text += ("\n" if text and not text.endswith("\n") else "") + f"\n## Progress\n\n{note}\n"
        tmp = path.with_name(".STATE.md.standin")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        self.respond("STATE.md is up to date; stopping here so the next model can continue.")
        self.hook("Stop", stop_hook_active=False)
        self.quiet = True

    def review(self) -> None:
        """Write the verdict a review packet asks for (module docstring)."""
        found = re.search(r"^Write your verdict as JSON to: (.+)$", self.prompt, re.MULTILINE)
        if found is None:
            return
        added = [line for line in self.prompt.splitlines() if line.startswith("+") and not line.startswith("+++")]
        bad = [line[1:].strip() for line in added if "BUG" in line]
        verdict = {
            "verdict": "fail" if bad else "pass",
            "reason": f"the change adds a known bug: {bad[0]}" if bad else "the change does what the task asks",
        }
        Path(found.group(1).strip()).write_text(json.dumps(verdict) + "\n", encoding="utf-8")
        self.respond(f"Review written: {verdict['verdict']}.")
        self.quiet = True

    def run(self) -> int:
        self.user(self.prompt or ("(resumed)" if self.resumed else "(no prompt)"))
        self.hook("SessionStart", source="resume" if self.resumed else "startup", model=self.model)
        print(f"[standin] {self.model} session {self.session} in {self.cwd}", flush=True)
        if not self.quiet:
            self.work()
            self.review()
        next_turn = time.monotonic() + self.turn_seconds
        while True:
            timeout = max(0.0, next_turn - time.monotonic()) if not self.quiet else 1.0
            ready, _, _ = select.select([sys.stdin], [], [], timeout)
            if ready:
                line = sys.stdin.readline()
                if not line:  # stdin closed: keep living, like an agent with no terminal input
                    time.sleep(timeout or 0.2)
                    continue
                text = line.strip()
                if text == self.exit_text:
                    print("[standin] bye", flush=True)
                    return 0
                self.user(text)
                if "STATE.md" in text:
                    self.save_state()
                    print("[standin] state saved", flush=True)
                elif text:
                    self.work()
            elif not self.quiet and time.monotonic() >= next_turn:
                self.work()
                next_turn = time.monotonic() + self.turn_seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="standin-agent", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--session-id")
    parser.add_argument("--resume", "-r", metavar="SESSION", help="continue this session (as claude --resume)")
    parser.add_argument("--quiet", action="store_true", help="do nothing after starting (a stuck agent)")
    parser.add_argument("--quiet-models", metavar="TEXT", help="be quiet only when the model id contains TEXT")
    parser.add_argument("--turn-seconds", type=float, default=2.0)
    parser.add_argument("--output-tokens", type=int, default=400)
    parser.add_argument("--exit-text", default="/exit")
    parser.add_argument("prompt", nargs="?")
    args, _unknown = parser.parse_known_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return Agent(args).run()
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
