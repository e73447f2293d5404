"""The candidate pool policy: turns casework's profile sharing and intake's consent and
erasure events into placement's own CandidateProfilePublished / CandidateProfileWithdrawn.

It keeps just enough state to join two topics that arrive in no guaranteed order: the latest
shared profile, the employer-disclosure consents intake reported and whether the participant
left for good. After every relevant event it reconciles: the candidate is in the pool iff a
profile is shared, the participant has not exited or been erased, and intake has not said
that every employer-disclosure consent is withdrawn or expired. A withdrawal seen on either
topic therefore removes the candidate at once, whichever arrives first; a late share of an
old profile cannot bring the candidate back until a new consent is granted.

Appends happen in the transaction that stores the consumer position, so redelivery never
publishes twice; a lost race with an HTTP command fails the batch, which is retried.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

import orjson

from services.placement import domain
from shared.contracts.base import DomainEvent
from shared.contracts.casework import (
    CapacityProfileRetracted,
    CapacityProfileShared,
    CaseTransferred,
    ParticipantExited,
)
from shared.contracts.common import CapacityProfile, ConsentPurpose
from shared.contracts.intake import ConsentExpired, ConsentGranted, ConsentWithdrawn, ParticipantDataErased
from shared.contracts.placement import CandidateProfilePublished, WithdrawalReason
from shared.db import Conn
from shared.envelope import Actor
from shared.eventstore import PostgresEventStore
from shared.projections import Projection
from shared.reactions import append_reaction
from shared.read_models import Statement, as_json, migrations
from shared.recorded import Recorded
from shared.unit_of_work import fold

SYSTEM = Actor(id="placement", role="service")

pool_policy = Projection(
    name="pool",
    sql=migrations(__file__, "policies", "pool"),
    topics=["casework", "intake"],
    side_effects=True,
)
_store = PostgresEventStore()


async def reconcile(
    conn: Conn, rec: Recorded[DomainEvent], participant_id: UUID, reason: WithdrawalReason, on: date
) -> None:
    """Bring the candidate stream in line with what the policy knows now."""
    share = await conn.fetchrow(
        "SELECT agency, project, profile, shared_on FROM pool_shares WHERE participant_id = $1", participant_id
    )
    closed = await conn.fetchval("SELECT reason FROM pool_closed WHERE participant_id = $1", participant_id)
    consents = [
        r["active"]
        for r in await conn.fetch("SELECT active FROM pool_consents WHERE participant_id = $1", participant_id)
    ]
    blocked = bool(consents) and not any(consents)
    stream = domain.candidate_stream(participant_id)
    loaded = fold(domain.candidate, stream, await _store.read_stream(stream, conn=conn))
    state = loaded.state
    events: list[DomainEvent]
    if share is not None and closed is None and not blocked:
        published = CandidateProfilePublished(
            participant_id=participant_id,
            agency=share["agency"],
            project=share["project"],
            profile=CapacityProfile.model_validate(orjson.loads(share["profile"])),
            published_on=share["shared_on"],
        )
        events = domain.publish(state, published)
        agency, project = share["agency"], share["project"]
    else:
        events = domain.withdraw(state, closed or reason, on)
        agency, project = state.agency or rec.agency, state.project or rec.project
    if not events:
        return
    await append_reaction(_store, conn, rec, loaded, events, actor=SYSTEM, agency=agency, project=project)


# the latest shared profile, replaced by each new share
_REMEMBER_SHARE = Statement(
    CapacityProfileShared,
    "INSERT INTO pool_shares (participant_id, agency, project, profile, shared_on) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (participant_id) DO UPDATE SET agency = excluded.agency, project = excluded.project,"
    " profile = excluded.profile, shared_on = excluded.shared_on",
    "participant_id", "agency", "project", as_json("profile"), "shared_on",
)  # fmt: skip


@pool_policy.on(CapacityProfileShared)
async def shared(conn: Conn, rec: Recorded[CapacityProfileShared]) -> None:
    await _REMEMBER_SHARE.run(conn, rec)
    await reconcile(conn, rec, rec.payload.participant_id, "profile-retracted", rec.payload.shared_on)


@pool_policy.on(CapacityProfileRetracted)
async def retracted(conn: Conn, rec: Recorded[CapacityProfileRetracted]) -> None:
    e = rec.payload
    await conn.execute("DELETE FROM pool_shares WHERE participant_id = $1", e.participant_id)
    await reconcile(conn, rec, e.participant_id, "profile-retracted", e.retracted_on)


_TRANSFER_SHARE = "UPDATE pool_shares SET agency = $2 WHERE participant_id = $1 RETURNING participant_id"


@pool_policy.on(CaseTransferred)
async def transferred(conn: Conn, rec: Recorded[CaseTransferred]) -> None:
    """A case transfer moves a pooled candidate to the receiving agency: republished under it,
    so placement's later events for the person carry it and only its staff act for them."""
    e = rec.payload
    if await conn.fetchval(_TRANSFER_SHARE, e.case_id, e.to_agency) is not None:
        await reconcile(conn, rec, e.case_id, "profile-retracted", e.transferred_on)


@pool_policy.on(ParticipantExited)
async def exited(conn: Conn, rec: Recorded[ParticipantExited]) -> None:
    e = rec.payload
    await _close(conn, e.participant_id, "participant-exited")
    await reconcile(conn, rec, e.participant_id, "participant-exited", e.exited_on)


@pool_policy.on(ParticipantDataErased)
async def erased(conn: Conn, rec: Recorded[ParticipantDataErased]) -> None:
    e = rec.payload
    await conn.execute("DELETE FROM pool_shares WHERE participant_id = $1", e.participant_id)
    await conn.execute("DELETE FROM pool_consents WHERE participant_id = $1", e.participant_id)
    await conn.execute(
        "INSERT INTO pool_closed (participant_id, reason) VALUES ($1, 'data-erased')"
        " ON CONFLICT (participant_id) DO UPDATE SET reason = 'data-erased'",
        e.participant_id,
    )
    await reconcile(conn, rec, e.participant_id, "data-erased", e.erased_on)


@pool_policy.on(ConsentGranted, ConsentWithdrawn, ConsentExpired)
async def consent(conn: Conn, rec: Recorded[ConsentGranted | ConsentWithdrawn | ConsentExpired]) -> None:
    e = rec.payload
    if e.purpose != ConsentPurpose.EMPLOYER_DISCLOSURE:
        return
    active = isinstance(e, ConsentGranted)
    await conn.execute(
        "INSERT INTO pool_consents (participant_id, consent_id, active) VALUES ($1, $2, $3)"
        " ON CONFLICT (participant_id, consent_id) DO UPDATE SET active = excluded.active AND pool_consents.active",
        e.participant_id,
        e.consent_id,
        active,
    )
    if not active and not await conn.fetchval(
        "SELECT bool_or(active) FROM pool_consents WHERE participant_id = $1", e.participant_id
    ):
        # data minimisation: without consent placement keeps no profile, not even hidden
        await conn.execute("DELETE FROM pool_shares WHERE participant_id = $1", e.participant_id)
    reason: WithdrawalReason
    if isinstance(e, ConsentExpired):
        reason, on = "consent-expired", e.expired_on
    elif isinstance(e, ConsentWithdrawn):
        # withdrawal takes effect from its date on; placement drops the candidate as soon as it
        # hears of it (never later than asked)
        reason, on = "consent-withdrawn", e.effective_on
    else:
        reason, on = "consent-withdrawn", e.granted_on
    await reconcile(conn, rec, e.participant_id, reason, on)


async def _close(conn: Conn, participant_id: UUID, reason: str) -> None:
    await conn.execute(
        "INSERT INTO pool_closed (participant_id, reason) VALUES ($1, $2) ON CONFLICT (participant_id) DO NOTHING",
        participant_id,
        reason,
    )
