"""How fast cloisterctl reads Claude Code transcripts, against ccusage on the same files.

    .venv/bin/python bench/bench_cost.py [--mb 170] [--runs 5] [--dir DIR] [--keep]

Generates realistic synthetic transcripts (bench/transcript_gen.py: many projects and sessions,
multi-line responses, sidechains, subagent files, big tool-result lines, a few malformed lines),
then, in each run and on the same files (page cache warm for both), times back to back:

- ccusage: ``ccusage session --json --offline`` (it has no cache and reads everything each time);
- full scan: cloisterctl's ingestion with an empty cache (``cost.collect.collect`` over every
  project, the call ``cost --all`` makes; ``tick`` makes it for the workspace's own transcripts);
- no-op rescan: the same call again, nothing new (only stat calls and the cached tally);
- the same two through the command line (``cloisterctl cost --all --json``), which adds the Python
  interpreter's start-up, imports and config loading;
- incremental: about 1 MB of new lines (responses and tool results, as a live session writes them)
  appended to one transcript, then the same call (the file is put back afterwards).

Times are medians of --runs; ratios are medians of each run's own ratio (the tools are timed
back to back, so under about the same load: the machine's other work moves both). Targets: a full
scan through the command line <= 0.35x ccusage; a no-op rescan <= 5% of ccusage in process and
<= 0.04x through the command line (where the memo of `cost` answers); incremental <= 0.1 s.
A floor is printed beside them: one ``bytes.find`` pass over the files in memory, the least any
reader of every byte pays here. Each is printed with whether it is met; the exit code is 1 when one is
missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
from cloisterctl.cost.attribution import Attribution  # noqa: E402
from cloisterctl.cost.collect import collect, own_projects  # noqa: E402
from cloisterctl.ledger.state import WorkspaceState  # noqa: E402
from cloisterctl.workspace.layout import Workspace  # noqa: E402

APPEND_BYTES = 1_000_000


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (worker processes, ccusage)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


TARGET_FULL_CLI = 0.35  # x ccusage: `cost --all --json` with a fresh cache (issue 11)
TARGET_NOOP = 0.05  # x ccusage, in process
TARGET_NOOP_CLI = 0.04  # x ccusage: `cost --all --json` with nothing new (issue 11)
TARGET_INCREMENTAL = 0.1  # seconds


def byte_floor(files: list[Path]) -> float:
    """One ``bytes.find`` pass over every file, already in memory, on one core: what merely
    looking at each byte once costs here (memory bandwidth), whatever a parser does."""
    datas = [path.read_bytes() for path in files]
    seconds, _ = timed(lambda: [data.find(b"\x00never\x00") for data in datas])
    return seconds


def appended_lines(path: Path, size: int) -> bytes:
    """About ``size`` bytes of new lines in the shape of ``path``'s own: its lines again, each
    response under new ids (so they count), in the order they were written."""
    lines = [line for line in path.read_bytes().split(b"\n") if line.strip()]
    out: list[bytes] = []
    total, index = 0, 0
    while total < size:
        line = lines[index % len(lines)]
        round_ = index // len(lines)
        line = line.replace(b'"msg_', b'"msg_a%d' % round_).replace(b'"req_', b'"req_a%d' % round_)
        out.append(line)
        total += len(line) + 1
        index += 1
    return b"\n".join(out) + b"\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=170, help="megabytes of transcripts to generate (default 170)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each measurement; medians are reported")
    parser.add_argument("--dir", type=Path, help="work in DIR (reuses transcripts already there)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()

    work = args.dir or Path(tempfile.mkdtemp(prefix="cloister-bench-"))
    config_dir = work / "claude"
    # Both cloisterctl processes (this one and the command line) keep their caches here.
    os.environ["XDG_CACHE_HOME"] = str(work / "cache")
    try:
        if not (config_dir / "projects").is_dir():
            print(f"generating {args.mb} MB of transcripts in {config_dir} ...", file=sys.stderr)
            summary = generate(config_dir, args.mb * 1_000_000)
            print(
                f"  {summary.files} files, {len(summary.sessions)} sessions, {summary.responses} responses",
                file=sys.stderr,
            )
        size = warm_page_cache(config_dir)
        files = sorted(config_dir.rglob("*.jsonl"), key=lambda path: (-path.stat().st_size, str(path)))
        ccusage = find_ccusage()
        root = work / "ws"
        if not (root / ".cloister").is_dir():
            make_workspace(work)
            (work / "bench-workspace").rename(root)
        ws = Workspace(root)
        config = load_config(ws.config_path)
        environ = {"CLAUDE_CONFIG_DIR": str(config_dir), "HOME": str(work)}
        cache = ws.cache_dir / "usage"
        attribution = Attribution.from_state(WorkspaceState(agent="bench"), own_projects(ws))

        def ours() -> float:
            tally = collect(ws, config, attribution, all_projects=True, environ=environ)
            return sum(cell.usd for cell in tally.cells)

        cli_env = {**os.environ, **environ}
        # The console script users run (python -m adds runpy's imports), with bytecode written.
        script = Path(sys.executable).parent / "cloisterctl"
        entry = [str(script)] if script.exists() else [sys.executable, "-m", "cloisterctl"]
        cli = [*entry, "-C", str(root), "cost", "--all", "--json"]
        cli_env.pop("PYTHONDONTWRITEBYTECODE", None)
        memo_dir = ws.cache_dir / "memo"

        def ours_cli() -> float:
            done = subprocess.run(cli, capture_output=True, text=True, env=cli_env, check=True)
            return float(json.loads(done.stdout)["total_usd"])

        grown = files[0]  # the largest transcript: a long live session
        original = grown.read_bytes()
        extra = appended_lines(grown, APPEND_BYTES)
        times: dict[str, list[float]] = {name: [] for name in ("full", "noop", "ccusage", "cli", "cli_noop", "incr")}
        cpu: dict[str, list[float]] = {"full": [], "ccusage": []}
        our_total = their_total = cli_total = 0.0
        for run in range(args.runs):
            before = cpu_seconds()
            seconds, result = timed(lambda: ccusage_session(ccusage, config_dir))
            cpu["ccusage"].append(cpu_seconds() - before)
            times["ccusage"].append(seconds)
            their_total = float(result["totals"]["totalCost"])
            shutil.rmtree(cache, ignore_errors=True)
            before = cpu_seconds()
            seconds, our_total = timed(ours)
            cpu["full"].append(cpu_seconds() - before)
            times["full"].append(seconds)
            seconds, noop_total = timed(ours)
            times["noop"].append(seconds)
            assert abs(noop_total - our_total) < 1e-9
            try:
                with open(grown, "ab") as handle:
                    handle.write(extra)
                seconds, grown_total = timed(ours)
                times["incr"].append(seconds)
                assert grown_total > our_total
            finally:
                grown.write_bytes(original)
            ours()  # the file put back: read again before the command line's turn
            shutil.rmtree(cache, ignore_errors=True)
            shutil.rmtree(memo_dir, ignore_errors=True)  # else the memo of the last run answers
            seconds, cli_total = timed(ours_cli)
            times["cli"].append(seconds)
            seconds, _ = timed(ours_cli)
            times["cli_noop"].append(seconds)
            print(
                f"  run {run + 1}: ccusage {times['ccusage'][-1]:.3f}s, full {times['full'][-1]:.3f}s, "
                f"no-op {times['noop'][-1] * 1000:.1f}ms, +1 MB {times['incr'][-1] * 1000:.1f}ms, "
                f"cli full {times['cli'][-1]:.3f}s, cli no-op {times['cli_noop'][-1]:.3f}s",
                file=sys.stderr,
            )

        mb = size / 1_000_000
        t = {name: median(values) for name, values in times.items()}
        theirs = t["ccusage"]
        met: list[bool] = []

        def ratio_of(name: str) -> float:
            """The median of each run's ratio: both tools timed back to back, under the same load."""
            return median([ours / them for ours, them in zip(times[name], times["ccusage"], strict=True)])

        def verdict(ok: bool) -> str:
            met.append(ok)
            return "met" if ok else "MISSED"

        print(f"transcripts: {mb:.1f} MB in {len(files)} files ({work}); medians of {args.runs} runs")
        print(f"ccusage session --json --offline:     {theirs:.3f} s ({mb / theirs:.0f} MB/s)")
        floor = median([byte_floor(files) for _ in range(3)])
        print(
            f"floor: one bytes.find pass over the files, one core: {floor:.3f} s "
            f"({floor / theirs:.2f}x ccusage; {floor / 2 / theirs:.2f}x if both cores shared it perfectly)"
        )
        ratio = ratio_of("full")
        print(
            f"full scan (fresh cache), in process:  {t['full']:.3f} s ({mb / t['full']:.0f} MB/s)  {ratio:.2f}x ccusage"
        )
        ratio = ratio_of("noop")
        print(
            f"no-op rescan, in process:             {t['noop'] * 1000:.1f} ms  {ratio:.3f}x ccusage  "
            f"target <= {TARGET_NOOP}x: {verdict(ratio <= TARGET_NOOP)}"
        )
        print(
            f"CPU time of a full scan (all processes): cloisterctl {median(cpu['full']):.3f} s, "
            f"ccusage {median(cpu['ccusage']):.3f} s ({median(cpu['full']) / median(cpu['ccusage']):.2f}x)"
        )
        ratio = ratio_of("cli")
        print(
            f"full scan, cost --all --json:         {t['cli']:.3f} s  {ratio:.2f}x ccusage  "
            f"target <= {TARGET_FULL_CLI}x: {verdict(ratio <= TARGET_FULL_CLI)}"
        )
        ratio = ratio_of("cli_noop")
        print(
            f"no-op rescan, cost --all --json:      {t['cli_noop'] * 1000:.1f} ms  {ratio:.3f}x ccusage  "
            f"target <= {TARGET_NOOP_CLI}x: {verdict(ratio <= TARGET_NOOP_CLI)}"
        )
        print(
            f"incremental, {len(extra) / 1e6:.2f} MB appended to one {len(original) / 1e6:.1f} MB transcript: "
            f"{t['incr'] * 1000:.1f} ms  target <= {TARGET_INCREMENTAL * 1000:.0f} ms: "
            f"{verdict(t['incr'] <= TARGET_INCREMENTAL)}"
        )
        print(
            f"best runs: ccusage {min(times['ccusage']):.3f} s, full scan {min(times['full']):.3f} s "
            f"({min(times['full']) / min(times['ccusage']):.2f}x), no-op {min(times['noop']) * 1000:.1f} ms, "
            f"incremental {min(times['incr']) * 1000:.1f} ms"
        )
        print(f"total USD: cloisterctl {our_total:.4f} (cli {cli_total:.4f}), ccusage {their_total:.4f}")
        return 0 if all(met) else 1
    finally:
        if args.dir is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
