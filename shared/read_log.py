"""The read logs: one append-only row per response that carried protected data, and what
auditors and data-protection officers see of them.

Casework logs reads of health data (``health_data_reads``, whose: the case), intake reads of
identity and referral reason (``data_reads``, whose: the participant). The two logs are the
same but for the table and the name of whose data was read, so they are written and listed
here, once. The trigger that keeps them append-only is ``shared/sql/eventstore/910_append_only.sql``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypedDict, Unpack
from uuid import UUID

from shared.bus import Context


class Executor(Protocol):
    """A connection or a pool: what the log is written and read through."""

    async def execute(self, query: str, *args: object) -> str: ...

    async def fetch(self, query: str, *args: object) -> list[Any]: ...


class ReadFilter(TypedDict):
    """What an auditor narrows the log to (any of them None: not narrowed), newest first."""

    participant_id: UUID | None
    subject: str | None
    since: datetime | None
    limit: int


@dataclass(frozen=True)
class ReadLog:
    """The log in ``table`` whose ``<whose>_id`` / ``<whose>_agency`` columns name whose data
    was read (and the agency running their case)."""

    table: str
    whose: str
    _insert: str = field(init=False, repr=False)
    _listing: str = field(init=False, repr=False)
    _person: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        whose_id, whose_agency = f"{self.whose}_id", f"{self.whose}_agency"
        insert = (
            f"INSERT INTO {self.table} (subject, role, agency, {whose_id}, {whose_agency}, what, correlation_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        # whose id is answered as participant_id (a case's id is its participant's id)
        listing = f"""
SELECT read_id, read_at, subject, role, agency, {whose_id} AS participant_id, {whose_agency}, what, correlation_id
FROM {self.table}
WHERE ({whose_agency} = $1 OR agency = $1)
  AND ($2::uuid IS NULL OR {whose_id} = $2) AND ($3::text IS NULL OR subject = $3)
  AND ($4::timestamptz IS NULL OR read_at >= $4)
ORDER BY read_at DESC, id DESC LIMIT $5
"""
        person = (
            f"SELECT read_at, subject, role, agency, what, correlation_id FROM {self.table}"
            f" WHERE {whose_id} = $1 ORDER BY read_at, id"
        )
        object.__setattr__(self, "_person", person)
        object.__setattr__(self, "_insert", insert)
        object.__setattr__(self, "_listing", listing)

    async def record(self, db: Executor, ctx: Context, whose_id: UUID | None, whose_agency: str, what: str) -> None:
        """One row: who (subject, role, agency) read ``what`` of whose data, and the request's
        correlation id; written before the answer leaves."""
        p = ctx.principal
        await db.execute(
            self._insert, p.subject, p.role.value, p.agency, whose_id, whose_agency, what, ctx.correlation_id
        )

    async def reads(self, db: Executor, ctx: Context, **query: Unpack[ReadFilter]) -> dict[str, Any]:
        """The latest reads that the caller's agency may see: of data whose case it runs, or
        by its own staff (the caller's right to audit is the service's access rule)."""
        args = (query["participant_id"], query["subject"], query["since"], query["limit"])
        rows = await db.fetch(self._listing, ctx.principal.agency, *args)
        return {"count": len(rows), "reads": [dict(r) for r in rows]}

    async def of_person(self, db: Executor, whose_id: UUID) -> list[Any]:
        """Every read of one person's data, oldest first: what a subject-access answer lists."""
        return list(await db.fetch(self._person, whose_id))


# intake's, placement's and reporting's log (``shared/sql/read_log``); casework's is its own
DATA_READS = ReadLog("data_reads", whose="participant")
