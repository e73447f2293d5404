"""HTTP-side helpers of casework: load a case, check access, seal text, run a command,
record health-data reads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.casework import access, domain
from shared import http, metrics
from shared.auth import Principal
from shared.commands import Loaded, execute, load
from shared.contracts.base import DomainEvent
from shared.contracts.common import ConsentPurpose
from shared.crypto import SubjectKeys
from shared.db import Conn
from shared.domain import NotFound
from shared.envelope import Envelope

keys = SubjectKeys()


def today(request: Request) -> date:
    clock: Callable[[], date] = request.app.state.clock
    return clock()


def pool(request: Request) -> Any:
    rt = http.runtime(request)
    assert rt.pool is not None
    return rt.pool


async def load_case(request: Request, participant_id: UUID) -> Loaded[domain.Case]:
    current = await load(http.store(request), domain.case, domain.stream_id(participant_id))
    if current.version == 0:
        raise NotFound("no such case", field="participant_id")
    if current.state.status == "erased":
        raise NotFound("the participant's data was erased", field="participant_id")
    return current


async def exchange_agencies(runner: Any, participant_id: UUID, day: date) -> set[str]:
    """Agencies an active drv-exchange consent of the participant covers on ``day``."""
    rows = await runner.fetch(
        "SELECT scope FROM consents WHERE participant_id = $1 AND purpose = $2"
        " AND granted_on <= $3 AND (ended_on IS NULL OR ended_on > $3) AND (expires_on IS NULL OR expires_on > $3)",
        participant_id,
        ConsentPurpose.DRV_EXCHANGE.value,
        day,
    )
    return {r["scope"] for r in rows if r["scope"]}


async def medical_release_active(runner: Any, participant_id: UUID, consent_id: UUID, day: date) -> bool:
    return bool(
        await runner.fetchval(
            "SELECT EXISTS (SELECT 1 FROM consents WHERE consent_id = $1 AND participant_id = $2 AND purpose = $3"
            " AND granted_on <= $4 AND (ended_on IS NULL OR ended_on > $4)"
            " AND (expires_on IS NULL OR expires_on > $4))",
            consent_id,
            participant_id,
            ConsentPurpose.MEDICAL_RELEASE.value,
            day,
        )
    )


async def visible_case(
    request: Request, principal: Principal, participant_id: UUID, as_of: datetime | None = None
) -> Loaded[domain.Case]:
    """The case if the caller may see it (judged on today's case and consents); with ``as_of``,
    the case as it stood then, rebuilt from the events recorded up to that moment."""
    current = await load_case(request, participant_id)
    scopes = await exchange_agencies(pool(request), participant_id, today(request))
    access.require_see(principal, current.state, scopes)
    if as_of is None:
        return current
    then = await load(http.store(request), domain.case, domain.stream_id(participant_id), up_to=as_of)
    if then.version == 0:
        raise NotFound("the case did not exist yet at that time", field="as_of")
    return then


async def seal(request: Request, participant_id: UUID, value: Any) -> str:
    """Ciphertext under the participant's casework key ("" for nothing)."""
    if value in (None, "", []):
        return ""
    async with pool(request).acquire() as conn:
        return await keys.seal(conn, str(participant_id), value)


async def open_sealed(conn: Conn, participant_id: UUID, token: str) -> Any:
    if not token:
        return None
    return await keys.open(conn, str(participant_id), token)


async def audit_health_read(request: Request, principal: Principal, case: domain.Case, what: str) -> None:
    """One row per response that carried health data (who, role, agency, case, what, when)."""
    await pool(request).execute(
        "INSERT INTO health_data_reads (subject, role, agency, case_id, case_agency, what, correlation_id)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        principal.subject,
        principal.role.value,
        principal.agency,
        case.case_id,
        case.agency,
        what,
        request.state.correlation_id,
    )
    metrics.HEALTH_DATA_READS.labels("casework").inc()


def body(participant_id: UUID, state: domain.Case, events: list[Envelope], **extra: Any) -> dict[str, Any]:
    return {
        "participant_id": str(participant_id),
        "status": state.status,
        "phase": state.phase.value if state.phase else None,
        "version": events[-1].version if events else None,
        "events": [e.event_type for e in events],
        **extra,
    }


async def command(
    request: Request,
    principal: Principal,
    participant_id: UUID,
    authorize: access.Authorize,
    decide: Callable[[domain.Case, dict[str, str]], Sequence[DomainEvent]],
    *,
    route: str,
    sealed: dict[str, Any] | None = None,
    payload: BaseModel | None,
    if_match: int | None,
    idempotency_key: str | None,
    status_code: int = 200,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """See the case, pass the command's own check, seal the free text (only now, so a refused
    caller never makes a key), then load-decide-append."""
    current = await visible_case(request, principal, participant_id)
    authorize(principal, current.state)
    tokens = {name: await seal(request, participant_id, value) for name, value in (sealed or {}).items()}
    outcome = await execute(
        http.store(request),
        domain.case,
        stream_id=domain.stream_id(participant_id),
        context=http.context(request, principal, agency=current.state.agency, project=current.state.project),
        decide=lambda state, _v: decide(state, tokens),
        respond=lambda state, events: body(participant_id, state, events, **(extra or {})),
        expected_version=if_match,
        status_code=status_code,
        preloaded=current,
        **http.idempotency(
            principal,
            idempotency_key,
            f"{route}:{participant_id}",
            payload.model_dump(mode="json") if payload else {},
        ),
    )
    return JSONResponse(outcome.body, status_code=outcome.status_code)


# Events whose content came from doctors: § 76 SGB X lets the participant object to passing it on.
FROM_DOCTORS = frozenset({"MedicalReportReceived"})


async def withheld_from(request: Request, principal: Principal, case: domain.Case, participant_id: UUID) -> bool:
    """True if doctors' data must be withheld from this reader: an objection under § 76 SGB X
    is on record and the reader works for another agency than the case's (passing it on)."""
    if principal.agency == case.agency:
        return False
    found = await pool(request).fetchval("SELECT 1 FROM objections WHERE participant_id = $1 LIMIT 1", participant_id)
    return found is not None
