"""`cloisterctl hook pre-push`: run the configured test command before a push and record the result.

Opt-in (install the `cloister-pre-push` hook). Failing tests fail the push; with no
``tests.command`` configured it says so and lets the push go.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path


def pre_push_hook(args: list[str]) -> int:
    from cloisterctl.clock import now
    from cloisterctl.config import load_config
    from cloisterctl.errors import CloisterError
    from cloisterctl.testrun import run_and_record
    from cloisterctl.workspace import find_workspace

    try:
        ws = find_workspace(Path.cwd())
        if not ws.is_initialised:
            return 0
        config = load_config(ws.config_path)
        command = config.get("tests", "command")
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not argv:
            print("cloister: no tests.command configured; nothing run before the push", file=sys.stderr)
            return 0
        return run_and_record(
            ws,
            argv,
            junit=config.get("tests", "junit_xml"),
            source="pre-push",
            clock=now,
            lock_timeout=config.lock_timeout,
        )
    except CloisterError as exc:
        print(f"cloister: pre-push: {exc}", file=sys.stderr)
        return 0
