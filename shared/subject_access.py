"""Subject access (GDPR Art. 15): what the four services' answers have in common.

Each service answers for itself, at its own ``…/subject-access`` route, with everything it holds
about one person (opened where it holds the key), the log of who read that person's data there,
and a row in that log for this read. The portal (``services.portal.subject_access``) puts the four
answers into one document. The rule is one: the data-protection officer of the agency that owns
the person; another role is 403, another agency 404 (that a person is in the programme is itself
confidential, as for every other read).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from shared.bus import Context
from shared.contracts.base import DomainEvent
from shared.domain import Forbidden, NotFound
from shared.principal import Principal
from shared.read_log import DATA_READS, Executor, ReadLog
from shared.recorded import Recorded
from shared.vocabulary import Role

# The ``what`` of the read-log row each service writes for a subject-access read.
WHAT = "subject-access"
# The read-log columns every service's answer lists, in this order.
READ_FIELDS = ("read_at", "subject", "role", "agency", "what", "correlation_id")


def require_subject_access(principal: Principal, owner_agency: str, *, what: str = "participant") -> None:
    """Only the data-protection officer of the owning agency: another role is refused (403),
    another agency is told the person does not exist (404)."""
    if principal.role is not Role.DATA_PROTECTION_OFFICER:
        raise Forbidden("subject access is for the data-protection officer of the owning agency")
    if principal.agency != owner_agency:
        raise NotFound(f"no such {what}", field="participant_id")


def read_log(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """The read-log rows (database records or mappings) as the answer lists them."""
    return [{k: r[k] for k in READ_FIELDS} for r in rows]


async def audit_and_read_log(
    db: Executor, ctx: Context, participant_id: UUID, owner_agency: str, log: ReadLog = DATA_READS
) -> list[Any]:
    """Write this subject-access read to the service's read log, then read the person's log
    back (so it lists this request too)."""
    await log.record(db, ctx, participant_id, owner_agency, WHAT)
    return await log.of_person(db, participant_id)


Opener = Callable[[str], Awaitable[Any]]


async def opened(payload: DomainEvent, open_sealed: Opener) -> dict[str, Any]:
    """The payload with every sealed field opened (``sealed_x`` → ``x``): the person is owed
    all of it, whatever a reader's role would be shown. An empty v2 field keeps a v1 event's
    clear value of the same name."""
    data: dict[str, Any] = {}
    for key, value in payload.model_dump(mode="json").items():
        name = key.removeprefix("sealed_")
        if key == name:
            data.setdefault(name, value)
        elif value:
            data[name] = await open_sealed(value)
        else:
            data.setdefault(name, None)
    return data


async def record(rec: Recorded[DomainEvent], open_sealed: Opener) -> dict[str, Any]:
    """One event of the person's history: what, when, by whom, and its content opened."""
    return {
        "version": rec.version,
        "event_type": rec.event_type,
        "occurred_at": rec.occurred_at,
        "recorded_at": rec.recorded_at,
        "actor": rec.actor.model_dump(),
        "data": await opened(rec.payload, open_sealed),
    }


def answer(
    service: str,
    participant_id: UUID,
    agency: str,
    *,
    data: Mapping[str, Any] | None,
    reads: Sequence[Any],
    erased_on: date | None = None,
) -> dict[str, Any]:
    """One service's answer: what it holds (``data``), or, once the person was erased there,
    ``erased_on`` and no data; the read log in every case."""
    out: dict[str, Any] = {"service": service, "participant_id": str(participant_id), "agency": agency}
    if erased_on is not None:
        out |= {"erased": True, "erased_on": erased_on, "data": None}
        out["note"] = f"Die Daten wurden am {erased_on.strftime('%d.%m.%Y')} gelöscht (erased on {erased_on})."
    else:
        out |= {"erased": False, "erased_on": None, "data": dict(data or {})}
    return out | {"reads": read_log(reads)}
