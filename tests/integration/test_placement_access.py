"""placement's drv-exchange ``access`` read model on real PostgreSQL: a run of consent events
applied in one batch (two statements) ends exactly where applying them one by one ends."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import asyncpg

from services.placement.projections import access
from services.placement.views import drv_exchange_active
from shared.contracts.base import DomainEvent
from shared.contracts.common import ConsentPurpose
from shared.contracts.intake import ConsentExpired, ConsentGranted, ConsentWithdrawn, ParticipantDataErased
from shared.envelope import new_id
from shared.principal import Principal
from shared.projections import ProjectionRunner, Record
from shared.vocabulary import Role
from tests.integration.test_reporting_facts import record

DRV = ConsentPurpose.DRV_EXCHANGE


def history() -> list[tuple[str, DomainEvent]]:
    """Per participant stream, in order: grants, ends, other purposes and an erasure."""
    a, b, c = new_id(), new_id(), new_id()
    a1, a2, b1, b2, c1 = (new_id() for _ in range(5))

    def grant(p: UUID, cid: UUID, purpose: ConsentPurpose = DRV, x: date | None = None) -> ConsentGranted:
        return ConsentGranted(
            participant_id=p, consent_id=cid, purpose=purpose, scope="drv-westfalen", granted_on=date(2026, 1, 1),
            form="written", expires_on=x,
        )  # fmt: skip

    return [
        (f"participant-{a}", grant(a, a1, x=date(2027, 1, 1))),
        (
            f"participant-{a}",
            ConsentWithdrawn(
                participant_id=a, consent_id=a1, purpose=DRV, scope="drv-westfalen", effective_on=date(2026, 2, 1)
            ),
        ),
        (f"participant-{a}", grant(a, a2)),
        (f"participant-{b}", grant(b, b1)),
        (f"participant-{b}", grant(b, b2, purpose=ConsentPurpose.MEDICAL_RELEASE)),
        (
            f"participant-{b}",
            ConsentExpired(
                participant_id=b, consent_id=b1, purpose=DRV, scope="drv-westfalen", expired_on=date(2026, 3, 1)
            ),
        ),
        (
            f"participant-{c}",
            ConsentWithdrawn(participant_id=c, consent_id=c1, purpose=DRV, scope=None, effective_on=date(2026, 2, 1)),
        ),
        (f"participant-{c}", grant(c, c1)),
        (f"participant-{a}", ParticipantDataErased(participant_id=a, erased_on=date(2026, 4, 1), legal_basis="x")),
        (f"participant-{b}", grant(b, new_id(), x=date(2026, 12, 31))),
    ]


def numbered(events: list[tuple[str, DomainEvent]]) -> list[Record]:
    """The events as the consumer would receive them: offsets in order, versions per stream."""
    versions: dict[str, int] = {}
    records = []
    for offset, (stream, event) in enumerate(events):
        versions[stream] = versions.get(stream, 0) + 1
        records.append(record(offset, stream, versions[stream], event))
    return records


async def rows(pool: asyncpg.Pool, schema: str) -> list[tuple[object, ...]]:
    got = await pool.fetch(
        f"SELECT participant_id, consent_id, scope, active, expires_on, granted_on, ended_on"
        f" FROM {schema}.drv_exchange_consents"
        " ORDER BY participant_id, consent_id"
    )
    return [tuple(r) for r in got]


async def test_one_batch_ends_where_event_by_event_ends(pool: asyncpg.Pool) -> None:
    records = numbered(history())
    batched = ProjectionRunner(pool, access, "proj_access_batched")
    single = ProjectionRunner(pool, access, "proj_access_single")
    for runner in (batched, single):
        await runner.setup()
    await batched.apply(records)
    for r in records:
        await single.apply([r])
    expected = await rows(pool, "proj_access_single")
    assert await rows(pool, "proj_access_batched") == expected
    assert len(expected) == 3  # a's rows erased; b's medical release is not drv-exchange
    assert [r[3] for r in expected].count(True) == 1  # only b's last grant: the others ended


async def test_drv_visibility_follows_the_one_consent_rule(pool: asyncpg.Pool) -> None:
    """Active from the grant date up to, excluding, the expiry date or the withdrawal's
    effective date (``consent_active``). The old hand-written check let the consent hold on
    its expiry day, before its grant date and past a withdrawal's effective date."""
    drv = Principal("drv-1", Role.DRV_ADVISER, "drv-westfalen")
    expiring, withdrawn = new_id(), new_id()
    events: list[tuple[str, DomainEvent]] = [
        (f"participant-{expiring}", ConsentGranted(
            participant_id=expiring, consent_id=new_id(), purpose=DRV, scope="drv-westfalen",
            granted_on=date(2026, 1, 10), form="written", expires_on=date(2026, 6, 30),
        )),
        (f"participant-{withdrawn}", ConsentGranted(
            participant_id=withdrawn, consent_id=(cid := new_id()), purpose=DRV, scope=None,
            granted_on=date(2026, 1, 10), form="written",
        )),
        (f"participant-{withdrawn}", ConsentWithdrawn(
            participant_id=withdrawn, consent_id=cid, purpose=DRV, scope=None, effective_on=date(2026, 3, 1),
        )),
    ]  # fmt: skip
    records = numbered(events)
    runner = ProjectionRunner(pool, access, "proj_access_rule")
    await runner.setup()
    await runner.apply(records)
    async with pool.acquire() as conn:
        await conn.execute('SET search_path = "proj_access_rule", public')

        async def holds(pid: object, day: date) -> bool:
            return await drv_exchange_active(conn, pid, drv, day)  # type: ignore[arg-type]

        assert not await holds(expiring, date(2026, 1, 9))  # before the grant
        assert await holds(expiring, date(2026, 1, 10))
        assert await holds(expiring, date(2026, 6, 29))
        assert not await holds(expiring, date(2026, 6, 30))  # "expires on": no longer valid that day
        assert await holds(withdrawn, date(2026, 2, 28))
        assert not await holds(withdrawn, date(2026, 3, 1))  # withdrawal effective from then on
        await conn.execute("RESET search_path")
