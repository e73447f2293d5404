"""The monitoring export as the lead downloads it: CSV lines or JSON chunks, streamed (nothing
stored). Which rows, and the merge with intake's identities, are domain rules
(``domain.monitoring``); re-exported here for the export's readers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from services.reporting.domain.monitoring import COLUMNS, merge, rows
from services.reporting.domain.periods import half_year

__all__ = ["COLUMNS", "csv_lines", "half_year", "json_chunks", "merge", "rows"]


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
