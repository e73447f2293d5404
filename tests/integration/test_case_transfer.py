"""A case transfer's read-side reactions on real PostgreSQL (issue 15, item 8): casework's
``cases`` projection moves the case and drops the sending agency's team; intake's ``transfers``
policy appends ParticipantTransferred once and the ``register`` follows it."""

from __future__ import annotations

from datetime import date

import asyncpg

from services.casework.projections import cases
from services.intake.policies import transfers
from services.intake.projections import register
from shared.contracts.casework import CaseManagerAssigned, CaseOpened, CaseTransferred, TeamMemberAdded
from shared.contracts.intake import ParticipantTransferred, ReferralReceived
from shared.envelope import Actor, new_id
from shared.eventstore import CommandContext, PostgresEventStore
from shared.projections import ProjectionRunner
from tests.integration.test_reporting_facts import record

D = date(2026, 5, 12)


def _moved(pid: object, to: str = "jc-en") -> CaseTransferred:
    return CaseTransferred(
        case_id=pid, from_agency="jc-mk", to_agency=to, project="pro-aktiv", transferred_on=D,
        from_case_manager="cm-mara", to_case_manager="cm-erik",
    )  # fmt: skip


async def test_the_case_register_moves_and_the_senders_team_leaves(pool: asyncpg.Pool) -> None:
    runner = ProjectionRunner(pool, cases, "proj_cases")
    await runner.setup()
    pid = new_id()
    stream = f"case-{pid}"
    history = [
        CaseOpened(case_id=pid, participant_id=pid, agency="jc-mk", project="pro-aktiv", opened_on=date(2026, 3, 16)),
        CaseManagerAssigned(case_id=pid, case_manager="cm-mara", assigned_on=date(2026, 3, 16)),
        TeamMemberAdded(case_id=pid, member="psy-mo", role="psychologist", agency="jc-mk", added_on=date(2026, 3, 20)),
        TeamMemberAdded(
            case_id=pid, member="drv-dora", role="drv-adviser", agency="drv-westfalen", added_on=date(2026, 3, 20)
        ),
        _moved(pid),
    ]
    await runner.apply([record(i, stream, i + 1, e) for i, e in enumerate(history)])
    row = await pool.fetchrow("SELECT agency, case_manager FROM proj_cases.cases WHERE case_id = $1", pid)
    assert row is not None
    assert (row["agency"], row["case_manager"]) == ("jc-en", "cm-erik")
    team = await pool.fetch("SELECT member FROM proj_cases.case_team WHERE case_id = $1", pid)
    assert [r["member"] for r in team] == ["drv-dora"]


async def test_intake_follows_a_transfer_once_and_lists_the_participant_at_the_receiving_agency(
    pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    policy = ProjectionRunner(pool, transfers, "proj_transfers")
    listing = ProjectionRunner(pool, register, "proj_register")
    await policy.setup()
    await listing.setup()
    pid = new_id()
    referral = ReferralReceived(
        participant_id=pid, source_agency="jc-mk", project="pro-aktiv", referred_by="cm-mara",
        received_on=date(2026, 3, 2), age_band="35-44", sex="male", sealed_identity="x", sealed_reason="y",
    )  # fmt: skip
    context = CommandContext(Actor(id="cm-mara", role="case-manager"), "jc-mk", "pro-aktiv", new_id())
    await store.append(
        stream_id=f"participant-{pid}",
        stream_type="participant",
        expected_version=0,
        events=[referral],
        context=context,
    )

    await policy.apply([record(0, f"case-{pid}", 1, _moved(pid))])
    await policy.apply([record(1, f"case-{pid}", 2, _moved(pid))])  # a second transfer to the same agency
    person = await store.read_stream(f"participant-{pid}")
    assert [(e.event_type, e.agency) for e in person] == [
        (ReferralReceived.event_type, "jc-mk"),
        (ParticipantTransferred.event_type, "jc-mk"),
    ]
    moved = ParticipantTransferred.model_validate(person[-1].payload)
    assert (moved.from_agency, moved.to_agency, moved.transferred_on) == ("jc-mk", "jc-en", D)

    await listing.apply([record(i, f"participant-{pid}", i + 1, e) for i, e in enumerate([referral, moved])])
    agency = await pool.fetchval("SELECT agency FROM proj_register.participants WHERE participant_id = $1", pid)
    assert agency == "jc-en"
