from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from cloisterctl.cost.transcripts.locate import project_dir_name
from cloisterctl.ledger import segments
from cloisterctl.ledger.events import make_event
from cloisterctl.workspace.layout import Workspace
from testing.helpers import at, run
from testing.transcripts import assistant, usage_of, write_lines

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian's chromium package; .ci/run installs it)"
)
WINDOW = (1200, 1600)
OPUS_RGB = (0x7C, 0x3A, 0xED)
SONNET_RGB = (0x25, 0x63, 0xEB)
M = 1_000_000


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--force-device-scale-factor=1",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=180, check=True)


def png_rows(path: Path, last_row: int) -> tuple[int, int, list[bytearray]]:
    """Decode a non-interlaced 8-bit RGB(A) PNG (what Chromium writes) up to ``last_row``; returns
    width, bytes per pixel and the rows."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, header = 8, b"", b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    width, height, depth, colour, _compression, _filter, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytearray] = []
    prior = bytearray(stride)
    for y in range(min(height, last_row + 1)):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prior, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prior[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prior[i]
                c = prior[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(line)
        prior = line
    return width, bpp, rows


def count_colour(rows: list[bytearray], bpp: int, box: tuple[int, int, int, int], rgb: tuple[int, int, int]) -> int:
    left, top, width, height = box
    found = 0
    for y in range(top, top + height):
        line = rows[y]
        for x in range(left, left + width):
            r, g, b = line[x * bpp : x * bpp + 3]
            if abs(r - rgb[0]) <= 3 and abs(g - rgb[1]) <= 3 and abs(b - rgb[2]) <= 3:
                found += 1
    return found


class DomIndex(HTMLParser):
    """The elements of a dumped DOM: tag, attributes and the text directly inside."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [
            a for t, a in self.elements if t == tag and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]


def dashboard_workspace(workspace: Path, home: Path) -> None:
    """Two days of work on two tiers, three tasks (one with a hostile name), handoffs and decisions."""
    project = home / ".claude" / "projects" / project_dir_name(workspace)
    # opus 4.5: 240K fresh input ($1.20) + 48K output ($1.20) = $2.40; sonnet 4.6: 100K input ($0.30)
    # + 20K output ($0.30) + 2M cache reads ($0.60) = $1.20.
    opus = "claude-opus-4-5-20251101"
    write_lines(
        project / "s-opus.jsonl",
        [
            assistant("s-opus", "m1", "q1", opus, "2026-11-01T09:10:00Z", usage_of(120_000, 24_000)),
            assistant("s-opus", "m2", "q2", opus, "2026-11-01T09:20:00Z", usage_of(120_000, 24_000)),
        ],
    )
    write_lines(
        project / "s-sonnet.jsonl",
        [
            assistant(
                "s-sonnet",
                "m3",
                "q3",
                "claude-sonnet-4-6",
                "2026-11-02T10:10:00Z",
                usage_of(100_000, 20_000, read=2 * M),
            )
        ],
    )
    ws = Workspace(workspace)
    events = [
        make_event("route", "repo", at("2026-11-01T09:00:00Z"), task="bd-plan", tier="opus", rule="r"),
        make_event("route", "repo", at("2026-11-01T09:15:00Z"), task="bd-x", rule="r"),
        make_event(
            "decision",
            "repo",
            at("2026-11-01T09:30:00Z"),
            trigger="planning_complete",
            cause="planning_complete:bd-plan",
            from_tier="opus",
            to_tier="sonnet",
            kind="downgrade",
            reason="<img src=x onerror=alert(1)>",
            status="applied",
        ),
    ]
    steps = ["requested", "save_requested", "idle", "captured", "stopped", "spawned", "completed"]
    for minute, step in enumerate(steps):
        fields: dict[str, Any] = {"handoff": "h-1", "step": step, "from_tier": "opus", "to_tier": "sonnet"}
        fields |= (
            {"trigger": "planning_complete", "reason": "<img src=x onerror=alert(1)>"} if step == "requested" else {}
        )
        fields |= {"task": "bd-impl"} if step == "spawned" else {}
        events.append(make_event("handoff", "repo", at(f"2026-11-01T10:{minute:02d}:00Z"), **fields))
    for minute, step in enumerate(["requested", "failed"]):
        events.append(
            make_event(
                "handoff",
                "repo",
                at(f"2026-11-02T11:0{minute}:00Z"),
                handoff="h-2",
                step=step,
                from_tier="sonnet",
                to_tier="opus",
            )
        )
    segments.append_segments(ws, events)
    ws.handoffs_dir.mkdir(parents=True, exist_ok=True)
    (ws.handoffs_dir / "h-1.json").write_text(json.dumps({"id": "h-1", "token_estimate": 5234}))


def test_the_page_is_self_contained_and_labels_are_text(workspace: Path, isolated_env: Path, tmp_path: Path) -> None:
    dashboard_workspace(workspace, isolated_env)
    page = tmp_path / "cost.html"
    result = run(workspace, "cost", "--html", str(page), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"html": str(page), "total_usd": 3.6}
    html = page.read_text()
    # Nothing is fetched: no external script, style sheet, image or font.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "5,234" in html and "planning_complete" in html and "h-2" in html
    assert run(workspace, "cost", "--html", str(tmp_path / "missing" / "dir" / "x.html")).exit_code == 0
    unwritable = run(workspace, "cost", "--html", str(page / "inside-a-file.html"))
    assert unwritable.exit_code == 1 and "cannot write the dashboard" in unwritable.output


@needs_chromium
def test_the_dashboard_renders_in_chromium(workspace: Path, isolated_env: Path, tmp_path: Path) -> None:
    dashboard_workspace(workspace, isolated_env)
    page = tmp_path / "cost.html"
    assert run(workspace, "cost", "--html", str(page)).exit_code == 0

    dom_text = chromium(tmp_path / "profile-dom", "--dump-dom", page.as_uri()).stdout
    dom = DomIndex()
    dom.feed(dom_text)
    assert dom.find("body", data_rendered="yes"), "the page's script did not run to the end"
    assert not dom.find("img"), "a label was rendered as markup"
    assert "<img src=x onerror=alert(1)>" in dom.texts  # ... it is text in the handoff timeline

    def bars(chart: str) -> dict[str, tuple[float, float]]:
        found = {}
        inside = False
        for tag, attrs in dom.elements:
            if tag == "svg":
                inside = attrs.get("id") == chart
            elif inside and tag == "rect" and "bar" in attrs.get("class", ""):
                width, height = attrs["data-px"].split("x")
                found[attrs["data-label"]] = (float(width), float(height))
        return found

    tier_bars = bars("chart-tier")
    assert set(tier_bars) == {"opus", "sonnet"}
    assert tier_bars["opus"][0] / tier_bars["sonnet"][0] == pytest.approx(2.0, rel=0.02)  # $2.40 vs $1.20
    assert set(bars("chart-model")) == {"claude-opus-4-5-20251101", "claude-sonnet-4-6"}
    assert set(bars("chart-day")) == {"2026-11-01", "2026-11-02"}
    assert set(bars("chart-task")) == {"bd-plan", "bd-x", "bd-impl"}
    hit_rates = bars("chart-hit-rate")
    assert hit_rates["sonnet"][0] > 0 and hit_rates["opus"][0] == 0  # 100% and 0% of the same scale
    steps = dom.find("circle", **{"class": "step"})
    assert [s["data-step"] for s in steps] == [
        "requested",
        "save_requested",
        "idle",
        "captured",
        "stopped",
        "spawned",
        "completed",
        "requested",
        "failed",
    ]
    assert dom.find("path", **{"class": "decision"})
    assert any("5234 tok" in text for text in dom.texts)

    # The screenshot: the tier chart's bars are where the layout says, in the tier colours, and
    # their painted areas are in the ratio of the costs.
    (svg,) = dom.find("svg", id="chart-tier")
    box = tuple(int(v) for v in svg["data-box"].split(","))
    assert box[2] > 300 and box[3] > 40
    shot = tmp_path / "cost.png"
    chromium(tmp_path / "profile-shot", f"--screenshot={shot}", page.as_uri())
    width, bpp, rows = png_rows(shot, box[1] + box[3])
    assert width == WINDOW[0]
    region = (box[0], box[1], box[2], box[3])
    opus = count_colour(rows, bpp, region, OPUS_RGB)
    sonnet = count_colour(rows, bpp, region, SONNET_RGB)
    assert sonnet > 500, "no sonnet bar painted in the tier chart"
    assert opus / sonnet == pytest.approx(2.0, rel=0.05)
    # Above the charts the page is not blank: the header and the cards are painted.
    header = rows[10 : box[1] - 10]
    assert len({bytes(line[x * bpp : x * bpp + 3]) for line in header[::7] for x in range(0, width, 5)}) > 5
