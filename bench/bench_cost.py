"""How fast cloisterctl reads Claude Code transcripts, against ccusage on the same files.

    /work/venv/bin/python bench/bench_cost.py [--mb 160] [--runs 3] [--dir DIR] [--keep]

Generates realistic synthetic transcripts (bench/transcript_gen.py: many projects and sessions,
multi-line responses, sidechains, subagent files, big tool-result lines), then times, in the same
run and on the same files (page cache warm for both):

- a full scan: cloisterctl's ingestion with an empty cache (``costs.collect`` over every project,
  the call ``cost --all`` and ``tick`` make) against ``ccusage session --json --offline``;
- a rerun with nothing new (the cache under .cloister/local/usage/ is warm) against ccusage, which
  has no cache and reads everything again;
- the same two through the command line (``cloisterctl cost --all --json``), which adds the Python
  interpreter's start-up and imports.

Targets: full scan no slower than ccusage; no-op rerun under 5% of ccusage's time. Medians of
--runs runs (each run times both tools back to back) are reported, with MB/s and the ratios, and
the best run of each; the exit code is 1 when a target is missed on the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ccusage_runner import (  # noqa: E402
    ccusage_session,
    find_ccusage,
    make_workspace,
    median,
    timed,
    warm_page_cache,
)
from transcript_gen import generate  # noqa: E402

from cloisterctl.config.load import load_config  # noqa: E402
from cloisterctl.core.attribution import Attribution  # noqa: E402
from cloisterctl.engine.cost import collect, own_projects  # noqa: E402
from cloisterctl.state.workspace import Workspace  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=160, help="megabytes of transcripts to generate (default 160)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement; medians are reported")
    parser.add_argument("--dir", type=Path, help="work in DIR (reuses transcripts already there)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()

    work = args.dir or Path(tempfile.mkdtemp(prefix="cloister-bench-"))
    config_dir = work / "claude"
    try:
        if not (config_dir / "projects").is_dir():
            print(f"generating {args.mb} MB of transcripts in {config_dir} ...", file=sys.stderr)
            summary = generate(config_dir, args.mb * 1_000_000)
            print(
                f"  {summary.files} files, {len(summary.sessions)} sessions, {summary.responses} responses",
                file=sys.stderr,
            )
        size = warm_page_cache(config_dir)
        files = sum(1 for _ in config_dir.rglob("*.jsonl"))
        ccusage = find_ccusage()
        root = work / "ws"
        if not (root / ".cloister").is_dir():
            make_workspace(work)
            (work / "bench-workspace").rename(root)
        ws = Workspace(root)
        config = load_config(ws.config_path)
        environ = {"CLAUDE_CONFIG_DIR": str(config_dir), "HOME": str(work)}
        cache = ws.local_dir / "usage"

        def ours() -> float:
            tally = collect(
                ws, config, Attribution.from_events([], "bench", own_projects(ws)), all_projects=True, environ=environ
            )
            return sum(cell.usd for cell in tally.cells)

        cli_env = {**os.environ, **environ}
        cli = [sys.executable, "-m", "cloisterctl", "-C", str(root), "cost", "--all", "--json"]

        def ours_cli() -> float:
            done = subprocess.run(cli, capture_output=True, text=True, env=cli_env, check=True)
            return float(json.loads(done.stdout)["total_usd"])

        full, noop, theirs, full_cli, noop_cli = [], [], [], [], []
        our_total = their_total = cli_total = 0.0
        for run in range(args.runs):
            shutil.rmtree(cache, ignore_errors=True)
            seconds, our_total = timed(ours)
            full.append(seconds)
            seconds, noop_total = timed(ours)
            noop.append(seconds)
            assert abs(noop_total - our_total) < 1e-9
            seconds, result = timed(lambda: ccusage_session(ccusage, config_dir))
            theirs.append(seconds)
            their_total = float(result["totals"]["totalCost"])
            shutil.rmtree(cache, ignore_errors=True)
            seconds, cli_total = timed(ours_cli)
            full_cli.append(seconds)
            seconds, _ = timed(ours_cli)
            noop_cli.append(seconds)
            print(
                f"  run {run + 1}: full {full[-1]:.3f}s, no-op {noop[-1] * 1000:.1f}ms, ccusage {theirs[-1]:.3f}s, "
                f"cli full {full_cli[-1]:.3f}s, cli no-op {noop_cli[-1]:.3f}s",
                file=sys.stderr,
            )

        mb = size / 1_000_000
        t_full, t_noop, t_theirs = median(full), median(noop), median(theirs)
        t_full_cli, t_noop_cli = median(full_cli), median(noop_cli)
        print(f"transcripts: {mb:.1f} MB in {files} files ({work})")
        print(f"ccusage session --json --offline: {t_theirs:.3f} s ({mb / t_theirs:.0f} MB/s)")
        print(
            f"cloisterctl full scan (ingestion):  {t_full:.3f} s ({mb / t_full:.0f} MB/s)  "
            f"ratio {t_full / t_theirs:.2f}x ccusage"
        )
        print(
            f"cloisterctl no-op rerun (ingestion): {t_noop * 1000:.1f} ms  "
            f"ratio {t_noop / t_theirs * 100:.2f}% of ccusage"
        )
        print(f"cloisterctl cost --all --json, full:  {t_full_cli:.3f} s  ratio {t_full_cli / t_theirs:.2f}x ccusage")
        print(
            f"cloisterctl cost --all --json, no-op: {t_noop_cli:.3f} s  "
            f"ratio {t_noop_cli / t_theirs * 100:.1f}% of ccusage"
        )
        print(
            f"best of {args.runs}: ccusage {min(theirs):.3f} s, full scan {min(full):.3f} s "
            f"({min(full) / min(theirs):.2f}x), no-op {min(noop) * 1000:.1f} ms ({min(noop) / min(theirs) * 100:.2f}%)"
        )
        print(f"total USD: cloisterctl {our_total:.4f} (cli {cli_total:.4f}), ccusage {their_total:.4f}")
        met_full = t_full <= t_theirs
        met_noop = t_noop < 0.05 * t_theirs
        print(f"target full scan <= ccusage: {'met' if met_full else 'MISSED'}")
        print(f"target no-op rerun < 5% of ccusage: {'met' if met_noop else 'MISSED'}")
        return 0 if met_full and met_noop else 1
    finally:
        if args.dir is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
