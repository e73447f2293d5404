"""Subject access (GDPR Art. 15): everything intake holds about one person, for the DPO."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.intake import domain
from services.intake.handlers import KeyStore
from services.intake.views.participants import UnitOfWorkFactory, connection, consents_view
from shared import subject_access as subject_access_rules
from shared.bus import Context
from shared.contracts.intake import ParticipantDataErased as ErasedEvent
from shared.domain import NotFound
from shared.recorded import Recorded

_PERSON_DISCLOSURES = """
SELECT at, service, on_behalf_of, agency, half_year, correlation_id FROM monitoring_disclosures
WHERE $1 = ANY(released) ORDER BY at, id
"""


async def subject_access(
    unit_of_work: UnitOfWorkFactory, keys: KeyStore, ctx: Context, participant_id: UUID
) -> dict[str, Any]:
    """Everything intake holds about one person (GDPR Art. 15), for the DPO of the running
    agency: identity, referral reason, consents and objections with their state, every event
    opened, the monitoring disclosures and the read log, this read included (audited first)."""
    async with unit_of_work(True) as uow:
        loaded = await uow.load(domain.participant, domain.stream_id(participant_id))
        if not loaded.exists:
            raise NotFound("no such participant", field="participant_id")
        s = loaded.state
        subject_access_rules.require_subject_access(ctx.principal, s.agency)
        conn = connection(uow)
        reads = await subject_access_rules.audit_and_read_log(conn, ctx, participant_id, s.agency)
        if s.status == "erased":
            erased = next(r.payload for r in map(Recorded.decode, loaded.events) if isinstance(r.payload, ErasedEvent))
            return subject_access_rules.answer("intake", participant_id, s.agency, data=None, reads=reads,
                                               erased_on=erased.erased_on)  # fmt: skip
        subject = str(participant_id)

        async def open_sealed(token: str) -> Any:
            return await keys.open(subject, uow, token)

        data = {
            "status": s.status,
            "project": s.project,
            "source_agency": s.source_agency,
            "referred_on": s.referred_on,
            "start_date": s.start_date,
            "identity": await open_sealed(s.sealed_identity),
            "referral_reason": await open_sealed(s.sealed_reason) if s.sealed_reason else None,
            "consents": await consents_view(s, ctx.today, keys, uow, subject),
            "records": [await subject_access_rules.record(r, open_sealed) for r in map(Recorded.decode, loaded.events)],
            "monitoring_disclosures": [dict(r) for r in await conn.fetch(_PERSON_DISCLOSURES, participant_id)],
        }
    return subject_access_rules.answer("intake", participant_id, s.agency, data=data, reads=reads)
