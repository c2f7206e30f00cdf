#!/usr/bin/env python3
"""The post-commit hook's wall time against a bare start of the same interpreter (`python -c pass`).

Installs cloisterctl into a fresh venv the way users do (`pip install .`: compiled bytecode, pip's
console script), makes a workspace, and times, alternating, many runs of
    <venv>/bin/python -c pass
    <venv>/bin/cloisterctl hook git post-commit      (what pre-commit's cloister-activity runs)
Target: hook <= 2.5x a bare start (issue 22: the standard library is affordable, `import json` alone is
about 1.7x; click is not, see cloisterctl/__main__.py). Also shows, for information, a real `git commit`
with the hook installed through pre-commit, which adds pre-commit's own start-up.

    python bench/hook_bench.py [--runs 200] [--venv DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 2.5  # x a bare `python -c pass`


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--venv", type=Path, help="reuse (or create) the venv here")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="cloister-hook-bench-"))
    venv = args.venv or base / "venv"
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    if not (venv / "bin" / "cloisterctl").exists():
        print(f"installing cloisterctl into {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True, env=env)
        subprocess.run([*pip, str(ROOT)], check=True, env=env)
    python = str(venv / "bin" / "python")
    hook = [str(venv / "bin" / "cloisterctl"), "hook", "git", "post-commit"]
    repo = base / "repo"
    repo.mkdir()
    git_env = {
        **env,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x",
    }
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "init"], cwd=repo, check=True, env=git_env)
    subprocess.run(
        [str(venv / "bin" / "cloisterctl"), "init"], cwd=repo, check=True, env=env, stdout=subprocess.DEVNULL
    )

    for _ in range(10):  # warm the page cache
        run([python, "-c", "pass"], repo, env)
        run(hook, repo, env)
    bare: list[float] = []
    hooked: list[float] = []
    for _ in range(args.runs):
        bare.append(run([python, "-c", "pass"], repo, env))
        hooked.append(run(hook, repo, env))
    recorded = (repo / ".cloister" / "local" / "signals.jsonl").read_text().count("\n")
    b, h = statistics.median(bare), statistics.median(hooked)
    print(f"{args.runs} runs each, alternating; {recorded} activity events recorded")
    print(f"bare `python -c pass`:            median {b * 1000:.1f} ms   (min {min(bare) * 1000:.1f})")
    print(f"`cloisterctl hook git post-commit`: median {h * 1000:.1f} ms   (min {min(hooked) * 1000:.1f})")
    met = "met" if h / b <= TARGET else "MISSED"
    print(f"ratio hook / bare: {h / b:.2f}x (median), {min(hooked) / min(bare):.2f}x (min); target <= {TARGET}x: {met}")

    # For information: a whole commit, with and without the hook installed by pre-commit.
    try:
        subprocess.run([python, "-m", "pip", "install", "-q", "pre-commit"], check=True, env=env)
        (repo / ".pre-commit-config.yaml").write_text(
            "default_install_hook_types: [post-commit]\nrepos:\n  - repo: local\n    hooks:\n"
            f"      - id: cloister-activity\n        name: cloister activity\n        entry: {hook[0]} hook git\n"
            "        language: system\n        always_run: true\n        pass_filenames: false\n        stages: [post-commit]\n"
        )
        commit = ["git", "commit", "-q", "--allow-empty", "-m", "x"]
        plain = statistics.median(run(commit, repo, git_env) for _ in range(20))
        subprocess.run(
            [str(venv / "bin" / "pre-commit"), "install"], cwd=repo, check=True, env=env, stdout=subprocess.DEVNULL
        )
        with_hook = statistics.median(
            run(commit, repo, {**git_env, "PATH": f"{venv / 'bin'}:{env['PATH']}"}) for _ in range(20)
        )
        print(
            f"(a git commit: {plain * 1000:.0f} ms; with the hook through pre-commit: {with_hook * 1000:.0f} ms, most of it pre-commit's own start-up)"
        )
    except subprocess.CalledProcessError as exc:
        print(f"(skipped the commit timing: {exc})")


if __name__ == "__main__":
    main()
