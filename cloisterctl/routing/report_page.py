"""The `report routing --html` page: ``templates/routing.html.j2``, self-contained (no network)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from cloisterctl import __version__
from cloisterctl.errors import CloisterError
from cloisterctl.files.atomic import atomic_write_text
from cloisterctl.files.resources import read_resource
from cloisterctl.ledger.events import format_ts


def render_routing_page(report: Mapping[str, Any], now: datetime) -> str:
    import jinja2

    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    environment.filters["rate"] = lambda rate: "-" if rate is None else f"{rate * 100:.1f}%"
    template = environment.from_string(read_resource("templates", "routing.html.j2"))
    generated = format_ts(now)[:16].replace("T", " ") + " UTC"
    return template.render(report=report, version=__version__, generated=generated)


def write_routing_page(path: Path, report: Mapping[str, Any], now: datetime) -> None:
    """Write the page atomically."""
    try:
        atomic_write_text(path, render_routing_page(report, now))
    except OSError as exc:
        raise CloisterError(f"{path}: cannot write the routing report: {exc.strerror}") from None
