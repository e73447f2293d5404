"""What the services' projections and policies are built from, beside ``shared.projections``.

- ``migrations``: a projection's or policy's SQL folder (``sql/projections/<name>``,
  ``sql/policies/<name>``), the same layout in every service.
- ``columns``: a batch handler's rows as the column arrays of an ``unnest($1::uuid[], ...)``
  statement (one round trip for a run of events).
- ``statement`` / ``Statement``: most read-model handlers only run one SQL statement with some
  of the event's fields as parameters. Written out, each is the same handler around another
  statement; here it is one handler driven by data (the statement and the fields it takes), so
  a projection reads as the table of what each event does to its rows; ``statements`` runs
  several in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

from shared.contracts.base import DomainEvent
from shared.db import Conn
from shared.projections import Projection
from shared.recorded import Recorded

# A statement parameter: a field of the payload (dotted, e.g. ``"reason.value"``), or a
# function of the whole recorded event (its envelope's metadata, a derived value).
Param = str | Callable[[Recorded[Any]], object]


def migrations(module_file: str, kind: str, name: str) -> list[Path]:
    """The SQL files of the read model ``name`` (``kind``: "projections" or "policies") of
    the service whose module is ``module_file``, in the order they apply."""
    return sorted((Path(module_file).parent / "sql" / kind / name).glob("*.sql"))


def columns(rows: Iterable[Sequence[object]], width: int = 0) -> list[list[object]]:
    """Rows (tuples of equal length) turned into one list per column, for ``unnest``; no rows
    give ``width`` empty lists (a statement that runs anyway)."""
    out = [list(column) for column in zip(*rows, strict=True)]
    return out or [[] for _ in range(width)]


def recorded_agency(rec: Recorded[Any]) -> object:
    """The agency the event was recorded for (envelope), for contracts that carry none."""
    return rec.agency


def as_json(field: str) -> Callable[[Recorded[Any]], object]:
    """A payload field as JSON text for a jsonb column (a model in its JSON form)."""
    get = attrgetter(field)

    def value(rec: Recorded[Any]) -> object:
        found = get(rec.payload)
        return orjson.dumps(found.model_dump(mode="json") if isinstance(found, BaseModel) else found).decode()

    return value


class Statement:
    """One SQL statement and where its parameters ``$1, $2, ...`` come from in an event of
    the contract ``cls``; with ``only_if``, it runs only when that payload field is set (a
    statement matching on it would find no row otherwise)."""

    def __init__(self, cls: type[DomainEvent], sql: str, *params: Param, only_if: str | None = None) -> None:
        # checked here, so a misspelt field fails at import and not on the first event
        for name in [p for p in params if isinstance(p, str)] + ([only_if] if only_if else []):
            if not _has(cls, name.split(".", 1)[0]):
                raise ValueError(f"{cls.__name__} has no field {name!r}")
        self.cls = cls
        self.sql = sql
        self._getters = tuple(_getter(param) for param in params)
        self._only_if = only_if

    async def run(self, conn: Conn, rec: Recorded[Any]) -> None:
        if self._only_if is None or getattr(rec.payload, self._only_if) is not None:
            await conn.execute(self.sql, *(get(rec) for get in self._getters))


def statements(projection: Projection, *steps: Statement) -> None:
    """Register for the steps' contract a handler that runs them in order, and nothing else."""
    (cls,) = {step.cls for step in steps}

    async def run(conn: Conn, rec: Recorded[Any]) -> None:
        for step in steps:
            await step.run(conn, rec)

    run.__name__ = run.__qualname__ = f"{projection.name}_{cls.__name__}"
    projection.on(cls)(run)


def statement(projection: Projection, cls: type[DomainEvent], sql: str, *params: Param) -> None:
    """Register for ``cls`` a handler that runs ``sql`` with ``params``, and nothing else."""
    statements(projection, Statement(cls, sql, *params))


def _has(cls: type[DomainEvent], name: str) -> bool:
    """A contract field, or a property derived from fields (``running_agency``)."""
    return name in cls.model_fields or isinstance(getattr(cls, name, None), property)


def _getter(param: Param) -> Callable[[Recorded[Any]], object]:
    if callable(param):
        return param
    field = attrgetter(param)
    return lambda rec: field(rec.payload)
