"""``report``: the verify report as one self-contained HTML page (figures, breaks, coverage per
topic, keys, checkpoints) for an audit file."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from jinja2 import Environment, PackageLoader, select_autoescape

from shared.audit.verify import Report

_ENV = Environment(loader=PackageLoader("shared.audit", "templates"), autoescape=select_autoescape(["html"]))


def render(report: Report, topics: Sequence[str], seconds: float, generated_at: datetime) -> str:
    template = _ENV.get_template("report.html")
    return template.render(
        report=report, topics=list(topics), seconds=seconds, generated_at=generated_at.isoformat(timespec="seconds")
    )
