"""The DRV adviser's work queue: the open rehab applications that went to the adviser's agency,
each with what the carrier needs to decide (the capacity profile, the medical reports the
participant's consents and objections let pass, the requests and their answers).

Which reports pass is the rule every cross-agency read uses (``withheld_from`` and
``objected``): the case is opened to DRV by the participant's drv-exchange consent, and a § 76
SGB X objection on record withholds the reports of the doctors it names. Every application
shown carries health data: each case shown is one row of the health-read log.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.casework import access
from services.casework.domain import UNDECIDED, Case
from services.casework.views.case import objected
from services.casework.views.common import Reader, audit_health_read, open_sealed, withheld_from
from shared.bus import Context
from shared.contracts.casework import (
    CapacityProfileRecorded,
    MedicalReportReceived,
    RehabInformationProvided,
    RehabInformationRequested,
)
from shared.db import Conn
from shared.recorded import Recorded
from shared.unit_of_work import Loaded

# the carrier's undecided applications, oldest first
QUEUE = (
    "SELECT a.application_id, a.case_id, a.kind, a.filed_on, a.status"
    " FROM case_rehab_applications a JOIN cases c ON c.case_id = a.case_id"
    " WHERE a.carrier = $1 AND a.status = ANY($2::text[]) ORDER BY a.filed_on, a.application_id"
)


async def rehab_queue(db: Reader, ctx: Context) -> dict[str, Any]:
    """The open applications to my DRV agency under an active drv-exchange consent covering it."""
    access.require_drv_adviser(ctx.principal)
    agency = ctx.principal.agency
    rows = await db.pool.fetch(QUEUE, agency, list(UNDECIDED))
    items: list[dict[str, Any]] = []
    for row in rows:
        pid: UUID = row["case_id"]
        if agency not in await db.consents.exchange_agencies(None, pid, ctx.today):
            continue  # without the consent, nothing of the case reaches DRV
        case = await db.load(pid)
        status = case.state.rehab_applications.get(row["application_id"])
        if status not in UNDECIDED:
            continue  # decided since the projection saw it (the case's own events are current)
        items.append(
            {
                "application_id": str(row["application_id"]),
                "participant_id": str(pid),
                "case_agency": case.state.agency,
                "project": case.state.project,
                "kind": row["kind"],
                "status": status,
                "filed_on": row["filed_on"],
                "waiting_days": (ctx.today - row["filed_on"]).days,
                **await _dossier(db, ctx, case, row["application_id"]),
            }
        )
        await audit_health_read(db, ctx, case.state, "rehab-queue")
    return {"agency": agency, "as_of": ctx.today, "applications": items}


async def _dossier(db: Reader, ctx: Context, case: Loaded[Case], application_id: UUID) -> dict[str, Any]:
    """The latest capacity profile, the reports that pass, the carrier's requests and answers."""
    pid = case.state.participant_id
    assert pid is not None
    withhold = await withheld_from(db, ctx, case.state, pid)
    profile: Any = None
    reports: list[dict[str, Any]] = []
    requests: dict[UUID, dict[str, Any]] = {}
    withheld = 0
    async with db.pool.acquire() as conn:
        for rec in map(Recorded.decode, case.events):
            e = rec.payload
            if isinstance(e, CapacityProfileRecorded):
                profile = await open_sealed(conn, pid, e.sealed_profile)
            elif isinstance(e, MedicalReportReceived):
                if await objected(conn, pid, rec, withhold):
                    withheld += 1
                else:
                    reports.append(await _report(conn, pid, e))
            elif isinstance(e, RehabInformationRequested) and e.application_id == application_id:
                question = await open_sealed(conn, pid, e.sealed_question)
                requests[e.request_id] = {
                    "request_id": str(e.request_id),
                    "requested_on": e.requested_on,
                    "question": question,
                    "answered_on": None,
                    "answer": None,
                }
            elif isinstance(e, RehabInformationProvided) and e.request_id in requests:
                answer = await open_sealed(conn, pid, e.sealed_answer)
                requests[e.request_id] |= {"answered_on": e.provided_on, "answer": answer}
    return {
        "capacity_profile": profile,
        "medical_reports": reports,
        "withheld_under_objection": withheld,
        "requests": list(requests.values()),
    }


async def _report(conn: Conn, pid: UUID, e: MedicalReportReceived) -> dict[str, Any]:
    return {
        "report_id": str(e.report_id),
        "received_on": e.received_on,
        "source": await open_sealed(conn, pid, e.sealed_source),
        "summary": await open_sealed(conn, pid, e.sealed_summary),
    }
