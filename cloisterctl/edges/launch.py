"""Starting an agent from a launch file: ``python -m cloisterctl.edges.launch FILE``.

tmux passes the command it is to run through its own message to the server, which holds about
16 KB, and a handoff prompt is often longer. So the agent's argv template and the values of its
placeholders (the prompt among them) are written to a JSON file under ``.cloister/local/``; tmux
runs this small program with only the file's path, and it replaces itself with the agent (``exec``,
no shell). The file is removed once read.

Placeholders are filled in one pass over the template, so text inside a value (a task title that
says ``{workspace}``) is never expanded.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping, Sequence

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# One argv element may hold at most this many bytes on Linux (MAX_ARG_STRLEN); a prompt must fit.
MAX_ARGUMENT_BYTES = 128 * 1024 - 1


def fill_template(template: Sequence[str], values: Mapping[str, str]) -> list[str]:
    """Substitute ``{name}`` placeholders argument by argument, in one pass; no splitting, no shell.
    A placeholder without a value is left as it is."""
    return [PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), arg) for arg in template]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m cloisterctl.edges.launch LAUNCH_FILE", file=sys.stderr)
        return 2
    try:
        with open(argv[0], encoding="utf-8") as handle:
            spec = json.load(handle)
        os.unlink(argv[0])
        command = fill_template(spec["argv"], spec["values"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"cloisterctl launch: {argv[0]}: {exc}", file=sys.stderr)
        return 127
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"cloisterctl launch: cannot run {command[0]!r}: {exc.strerror}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
