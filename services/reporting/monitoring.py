"""The programme monitoring export (twice a year): which participants, and the rows reporting
can build on its own. Identifying fields come from intake at export time and are merged in
memory only (see api.py and README). Pure: no infrastructure here."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import Any

import orjson

from services.reporting.kpis import DateRange, Journey
from shared.domain import DomainError

COLUMNS = (
    "project",
    "agency",
    "insurance_number",
    "age",
    "sex",
    "employment_status",
    "entry_date",
    "exit_date",
    "measures",
    "employment_status_after_exit",
)


def half_year(text: str) -> DateRange:
    m = re.fullmatch(r"(\d{4})-H([12])", text)
    if not m:
        raise DomainError("expected a half-year like 2025-H2", field="half_year")
    year, half = int(m[1]), int(m[2])
    if half == 1:
        return DateRange(date(year, 1, 1), date(year, 6, 30), text)
    return DateRange(date(year, 7, 1), date(year, 12, 31), text)


def employment_status(j: Journey, day: date) -> str:
    """``employed-<kind>`` for an employment running on ``day`` (K2 kinds first), else not-employed."""
    running = [e for e in j.employments.values() if e.started <= day and (e.ended is None or e.ended > day)]
    running.sort(key=lambda e: (not e.integration, e.started))
    return f"employed:{running[0].kind}" if running else "not-employed"


def measures(j: Journey, period: DateRange) -> list[str]:
    """Types of measure during the period: intervention categories, work trials, phases."""
    out = {str(i["category"]) for i in j.interventions.values() if (i.get("started") or date.max) <= period.end}
    if any((t.get("started") or date.max) <= period.end for t in j.trials.values()):
        out.add("work-trial")
    out |= {f"phase:{s.phase}" for s in j.spans if s.entered <= period.end}
    return sorted(out)


def rows(journeys: Iterable[Journey], agency: str, period: DateRange, today: date) -> dict[str, dict[str, Any]]:
    """Export rows by participant id: own agency's participants whose participation overlaps
    the half-year and whose monitoring consent reporting knows to be active today."""
    out: dict[str, dict[str, Any]] = {}
    for j in journeys:
        if j.erased or j.agency != agency or j.enrolled_on is None or j.enrolled_on > period.end:
            continue
        if j.exited_on is not None and j.exited_on < period.start:
            continue
        if not j.consent_active("monitoring", today):
            continue
        exited = j.exited_on if j.exited_on is not None and j.exited_on <= period.end else None
        reference = exited or period.end
        out[j.participant_id] = {
            "project": j.project,
            "agency": j.agency,
            "sex": j.sex,
            "employment_status": employment_status(j, reference),
            "entry_date": j.enrolled_on.isoformat(),
            "exit_date": exited.isoformat() if exited else None,
            "measures": measures(j, period),
            "employment_status_after_exit": employment_status(j, period.end) if exited else None,
        }
    return out


def merge(built: Mapping[str, dict[str, Any]], identities: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """Rows for which intake released an identity, in a stable order; the others are withheld."""
    by_id = {str(i["participant_id"]): i for i in identities}
    for pid in sorted(built):
        ident = by_id.get(pid)
        if ident is None:
            continue
        yield {c: built[pid].get(c) for c in COLUMNS} | {
            "insurance_number": ident.get("insurance_number"),
            "age": ident.get("age"),
        }


def csv_lines(rows: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    yield buf.getvalue()
    for row in rows:
        buf.seek(0)
        buf.truncate()
        writer.writerow(["|".join(v) if isinstance(v, list) else ("" if v is None else v) for v in row.values()])
        yield buf.getvalue()


def json_chunks(rows: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    yield b"["
    for n, row in enumerate(rows):
        yield (b"," if n else b"") + orjson.dumps(row)
    yield b"]"
