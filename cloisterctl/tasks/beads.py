"""The beads adapter: tasks from the `bd` CLI when it is on PATH, else from the main checkout's `.beads/issues.jsonl`.

`bd` contract (v1.0.x): `bd list --all -n 0 --json` prints a JSON array of
issues; `bd show ID --json` prints an array even for one id; errors under `--json` are
`{"error": ..., "code": ...}` on stderr with a non-zero exit. The JSONL export has three line
shapes (current `_type: issue`, dolt-era lines without `_type`, sqlite-era lines with local-offset
timestamps); `_type: memory` lines are not tasks.

The tasks parsed from the JSONL are kept machine-locally between runs; the cache's version is the
digest of the code that shapes them (``TASK_CACHE_MODULES``, ``files.codedigest``): the task
records, the graph whose blocked ids are kept with them, and this module, whose JSONL reading
decides which lines are tasks. (All of it: a change to the `bd` side costs one parse of the file.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cloisterctl.errors import TaskError, ToolError, UnsafeFileError, WorkspaceError
from cloisterctl.files import safeopen
from cloisterctl.files.atomic import atomic_write_bytes
from cloisterctl.files.codedigest import source_digest
from cloisterctl.models.names import name_problem
from cloisterctl.tasks.graph import TaskIndex, blocked_ids, index
from cloisterctl.tasks.records import Task, task_from_json
from cloisterctl.workspace import origin

BD_TIMEOUT_SECONDS = 30
TASK_CACHE_MODULES = (
    "cloisterctl.tasks.beads",
    "cloisterctl.tasks.graph",
    "cloisterctl.tasks.records",
    "cloisterctl.models.names",  # which issue ids the records accept
)


class Tracker(Protocol):
    """Where tasks come from. ``describe`` names it in messages (a file or a command)."""

    describe: str

    def all_tasks(self) -> dict[str, Task]: ...

    def show(self, task_id: str) -> Task: ...

    def write_metadata(
        self, task_id: str, key: str, value: str, add_labels: Sequence[str], remove_labels: Sequence[str]
    ) -> None: ...

    def reopen(self, task_id: str) -> None: ...


class JsonlTracker:
    """Read-only view of `.beads/issues.jsonl` (the git-tracked export)."""

    def __init__(
        self, path: Path, label: str | None = None, cache_path: Path | None = None, *, root: Path | None = None
    ) -> None:
        self.path = path
        self.root = root  # the work tree: no symlink below it is followed (files.safeopen)
        self.describe = label or str(path)
        self.cache_path = cache_path  # parsed tasks, kept machine-locally between runs
        self._cache: tuple[tuple[int, int, int], dict[str, Task]] | None = None

    def all_tasks(self) -> dict[str, Task]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            raise TaskError(f"{self.describe}: no beads tracker here (no such file, and no `bd` on PATH)") from None
        key = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if self._cache is None and self.cache_path is not None:
            self._cache = _read_cache(self.cache_path)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        tasks = self._parse()
        blocked_ids(tasks)  # computed once, kept with the tasks in the cache
        self._cache = (key, tasks)
        if self.cache_path is not None:
            _write_cache(self.cache_path, self._cache)
        return tasks

    def _parse(self) -> dict[str, Task]:
        tasks = TaskIndex()
        try:
            handle = safeopen.open_binary(self.path, below=self.root)
        except UnsafeFileError as exc:
            raise TaskError(f"{self.describe}: {exc.reason}") from None
        if os.fstat(handle.fileno()).st_size > safeopen.LEDGER_CAP:
            handle.close()
            raise TaskError(f"{self.describe}: larger than {safeopen.LEDGER_CAP // safeopen.MIB} MiB; not read")
        with handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    data = json.loads(raw)
                except ValueError:
                    raise TaskError(f"{self.describe}:{number}: not valid JSON") from None
                except RecursionError:
                    raise TaskError(f"{self.describe}:{number}: JSON nested too deeply") from None
                if not isinstance(data, dict):
                    raise TaskError(f"{self.describe}:{number}: not a JSON object")
                if data.get("_type", "issue") != "issue":
                    continue  # memories and other record kinds
                try:
                    task = task_from_json(data)
                except ValueError as exc:
                    raise TaskError(f"{self.describe}:{number}: {exc}") from None
                tasks[task.id] = task
        return tasks

    def show(self, task_id: str) -> Task:
        task = self.all_tasks().get(task_id)
        if task is None:
            raise TaskError(f"unknown task {task_id!r} (not in {self.describe})")
        return task

    def write_metadata(
        self, task_id: str, key: str, value: str, add_labels: Sequence[str], remove_labels: Sequence[str]
    ) -> None:
        raise TaskError(f"{self.describe}: cannot write task metadata without `bd`")

    def reopen(self, task_id: str) -> None:
        """The task's status set back to open in the export (its line rewritten, the others kept
        byte for byte; the file replaced atomically): a close that failed its verification."""
        try:
            lines = safeopen.read_capped(self.path, safeopen.LEDGER_CAP, below=self.root).splitlines(keepends=True)
        except FileNotFoundError:
            raise TaskError(f"{self.describe}: no beads tracker here") from None
        for number, raw in enumerate(lines):
            try:
                data = json.loads(raw) if raw.strip() else None
            except (ValueError, RecursionError):
                continue  # reading the tasks reports it
            if isinstance(data, dict) and data.get("id") == task_id and data.get("_type", "issue") == "issue":
                if data.get("status") == "open":
                    return  # open already: nothing to write
                data["status"] = "open"
                data.pop("closed_at", None)
                data.pop("close_reason", None)
                ending = b"\r\n" if raw.endswith(b"\r\n") else b"\n"
                lines[number] = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode() + ending
                atomic_write_bytes(self.path, b"".join(lines), below=self.root)
                self._cache = None
                return
        raise TaskError(f"unknown task {task_id!r} (not in {self.describe})")


def _cache_version() -> str:
    return source_digest(*TASK_CACHE_MODULES)


def _read_cache(path: Path) -> tuple[tuple[int, int, int], dict[str, Task]] | None:
    """The parsed tasks kept from the last read: data (JSON decoded into the exact task types), so
    a cache of another shape is ignored and nothing in it can run."""
    import msgspec

    try:
        data = msgspec.json.decode(path.read_bytes(), type=_TaskCache)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    if data.version != _cache_version():
        return None
    tasks = index(data.tasks)
    return data.key, tasks


def _write_cache(path: Path, entry: tuple[tuple[int, int, int], dict[str, Task]]) -> None:
    import msgspec

    from cloisterctl.files.atomic import atomic_write_bytes

    try:
        atomic_write_bytes(path, msgspec.json.encode(_TaskCache(_cache_version(), entry[0], list(entry[1].values()))))
    except OSError:
        pass  # only a slower next read


@dataclass
class _TaskCache:
    version: str
    key: tuple[int, int, int]
    tasks: list[Task]


class BdTracker:
    """Tasks through the `bd` CLI, keeping to its documented JSON contract."""

    def __init__(self, executable: str, cwd: Path) -> None:
        self.executable = executable
        self.cwd = cwd
        self.describe = "bd"
        self._all: dict[str, Task] | None = None

    def _run(self, *args: str) -> Any:
        argv = [self.executable, *args]
        shown = " ".join(["bd", *args])
        try:
            result = subprocess.run(
                argv, cwd=self.cwd, capture_output=True, text=True, timeout=BD_TIMEOUT_SECONDS, check=False
            )
        except FileNotFoundError:
            raise ToolError(f"`{shown}`: {self.executable} not found") from None
        except subprocess.TimeoutExpired:
            raise ToolError(f"`{shown}` did not finish within {BD_TIMEOUT_SECONDS}s") from None
        if result.returncode != 0:
            raise ToolError(f"`{shown}` failed (exit {result.returncode}): {_bd_error(result.stderr)}")
        try:
            return json.loads(result.stdout) if result.stdout.strip() else None
        except (ValueError, RecursionError):
            raise ToolError(f"`{shown}` printed something that is not JSON: {result.stdout.strip()[:120]!r}") from None

    def _tasks(self, payload: Any, shown: str) -> list[Task]:
        if payload is None:
            return []
        if not isinstance(payload, list):
            raise ToolError(f"`{shown}` did not print a JSON array")
        tasks = []
        for item in payload:
            if isinstance(item, dict) and item.get("_type", "issue") == "issue":
                try:
                    tasks.append(task_from_json(item))
                except ValueError as exc:
                    raise ToolError(f"`{shown}`: {exc}") from None
        return tasks

    def all_tasks(self) -> dict[str, Task]:
        if self._all is None:
            self._all = index(self._tasks(self._run("list", "--all", "-n", "0", "--json"), "bd list --all -n 0 --json"))
        return self._all

    def show(self, task_id: str) -> Task:
        try:
            found = self._tasks(self._run("show", "--json", "--", _safe(task_id)), f"bd show --json -- {task_id}")
        except ToolError as exc:
            if "not found" in str(exc).lower():
                raise TaskError(f"unknown task {task_id!r} ({exc})") from None
            raise
        if not found:
            raise TaskError(f"unknown task {task_id!r} (`bd show --json -- {task_id}` returned nothing)")
        return found[0]

    def write_metadata(
        self, task_id: str, key: str, value: str, add_labels: Sequence[str], remove_labels: Sequence[str]
    ) -> None:
        args = ["update", "--set-metadata", f"{key}={value}"]
        for label in remove_labels:
            args += ["--remove-label", label]
        for label in add_labels:
            args += ["--add-label", label]
        self._run(*args, "--json", "--", _safe(task_id))  # after `--`, an id is never read as a flag
        self._all = None

    def reopen(self, task_id: str) -> None:
        self._run("update", task_id, "--status", "open", "--json")
        self._all = None


def _safe(task_id: str) -> str:
    """``task_id``, refused unless it is a safe name (``models.names``): names are data."""
    wrong = name_problem("task id", task_id)
    if wrong is not None:
        raise TaskError(wrong)
    return task_id


def _bd_error(stderr: str) -> str:
    text = stderr.strip()
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return text.splitlines()[-1] if text else "no message"
    if isinstance(data, dict) and "error" in data:
        code = f" ({data['code']})" if data.get("code") else ""
        return f"{data['error']}{code}"
    return text


def open_tracker(
    root: Path,
    command: str = "bd",
    jsonl: str = ".beads/issues.jsonl",
    use_cli: str = "auto",
    cache_path: Path | None = None,
) -> Tracker:
    """The tracker for a workspace: `bd` when on PATH (unless ``use_cli`` is "never"), else the JSONL
    of the repository's main checkout (``jsonl_path``)."""
    executable = shutil.which(command) if use_cli != "never" else None
    if executable is not None:
        return BdTracker(executable, root)
    if use_cli == "always":
        raise ToolError(f"`{command}` is not on PATH (beads.use_cli is 'always'); install beads or change the setting")
    tree = jsonl_work_tree(root, jsonl)
    return JsonlTracker(tree / jsonl, label=jsonl, cache_path=cache_path, root=tree)


def jsonl_path(root: Path, jsonl: str = ".beads/issues.jsonl") -> Path:
    """The beads export every worktree of a repository reads (``jsonl_work_tree``)."""
    return jsonl_work_tree(root, jsonl) / jsonl


def jsonl_work_tree(root: Path, jsonl: str = ".beads/issues.jsonl") -> Path:
    """The work tree whose beads export every worktree of a repository reads: the main checkout
    (a linked worktree's own copy is as old as its branch: a task closed since would look open
    there), or this one when it is the main checkout or the main checkout has none. The export is
    opened below it (``files.safeopen``): no symlink in its path is followed."""
    try:
        main = Path(origin.main_work_tree(str(root)))
    except WorkspaceError:
        return root
    return main if main != root and (main / jsonl).is_file() else root
