"""cloisterctl's cost figures against ccusage's on the same transcripts, to the cent.

    /work/venv/bin/python bench/bench_cost_correctness.py [--mb 20] [--dir DIR] [--keep]

Writes synthetic transcripts (bench/transcript_gen.py) in which no request's input side exceeds
200K tokens, plus the fixtures in tests/data/fixtures/claude-code, then compares the total and
every session's cost with ``ccusage session --json --offline``. They must agree to the cent: the
exit code is 1 otherwise.

A second set, with requests above 200K tokens, shows the documented difference: cloisterctl
prices the whole request at the long-context rates when its input side (input + cache writes +
cache reads) exceeds 200K; ccusage applies the higher rate per token category, only to the part
of that category above 200K. That difference is printed, not failed on.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ccusage_runner import REPO, ccusage_session, find_ccusage, make_workspace  # noqa: E402
from transcript_gen import generate  # noqa: E402

from cloisterctl.config.load import load_config  # noqa: E402
from cloisterctl.cost.attribution import Attribution  # noqa: E402
from cloisterctl.cost.collect import collect, own_projects  # noqa: E402
from cloisterctl.ledger.state import WorkspaceState  # noqa: E402
from cloisterctl.workspace.layout import Workspace  # noqa: E402

FIXTURES = REPO / "tests" / "data" / "fixtures" / "claude-code" / "projects"


def compare(work: Path, config_dir: Path, ccusage: str, label: str) -> tuple[bool, float, float]:
    root = make_workspace(work / label)
    ws = Workspace(root)
    environ = {"CLAUDE_CONFIG_DIR": str(config_dir), "HOME": str(work)}
    tally = collect(
        ws,
        load_config(ws.config_path),
        Attribution.from_state(WorkspaceState(agent="bench"), own_projects(ws)),
        all_projects=True,
        environ=environ,
    )
    ours: dict[str, float] = {}
    for cell in tally.cells:
        ours[cell.key.session] = ours.get(cell.key.session, 0.0) + cell.usd
    theirs_data = ccusage_session(ccusage, config_dir)
    theirs = {str(row["period"]): float(row["totalCost"]) for row in theirs_data["session"]}
    our_total, their_total = sum(ours.values()), float(theirs_data["totals"]["totalCost"])
    long_context = sum(cell.long_context for cell in tally.cells)
    print(
        f"[{label}] {len(ours)} sessions, {sum(c.requests for c in tally.cells)} responses, {long_context} long-context"
    )
    print(
        f"[{label}] total USD: cloisterctl {our_total:.4f}  ccusage {their_total:.4f}  "
        f"difference {our_total - their_total:+.4f}"
    )
    mismatched = [
        (session, ours.get(session, 0.0), theirs.get(session, 0.0))
        for session in sorted(set(ours) | set(theirs))
        if round(ours.get(session, 0.0), 2) != round(theirs.get(session, 0.0), 2)
    ]
    for session, mine, other in mismatched[:10]:
        print(f"[{label}]   session {session}: cloisterctl {mine:.6f}  ccusage {other:.6f}")
    agree = not mismatched and round(our_total, 2) == round(their_total, 2)
    return agree, our_total, their_total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=20, help="megabytes of transcripts per set (default 20)")
    parser.add_argument("--dir", type=Path, help="work in DIR")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="cloister-correctness-"))
    try:
        ccusage = find_ccusage()
        plain = work / "plain"
        if not (plain / "projects").is_dir():
            generate(plain, args.mb * 1_000_000, seed=11)
            for fixture in FIXTURES.iterdir():
                shutil.copytree(fixture, plain / "projects" / fixture.name, dirs_exist_ok=True)
        agree, ours, theirs = compare(work, plain, ccusage, "under 200K")
        print(f"under 200K: {'agree to the cent' if agree else 'DISAGREE'} ({ours:.2f} vs {theirs:.2f})")
        long = work / "long"
        if not (long / "projects").is_dir():
            generate(long, max(2, args.mb // 4) * 1_000_000, seed=12, long_context=True)
        _agree, ours, theirs = compare(work, long, ccusage, "long context")
        print(
            f"long context: cloisterctl {ours:.2f} vs ccusage {theirs:.2f} (expected to differ: whole-request "
            "long-context pricing vs ccusage's per-category tiering)"
        )
        return 0 if agree else 1
    finally:
        if args.dir is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
