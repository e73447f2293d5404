"""Employment found without placement (issue #15 item 5): casework's commands on the in-memory
unit of work, the one follow-up rule placement and casework share, and reporting's K2 count of
a self-found job (also when placement recorded the same job)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from uuid import UUID, uuid4

import orjson
import pytest
from pydantic import ValidationError

from services.casework import domain
from services.casework.commands import (
    AssignCaseManager,
    EndEmployment,
    ExitCase,
    RecordEmployment,
    RecordEmploymentFollowUp,
)
from services.placement import domain as placement
from services.reporting.domain import journey, kpis, periods
from services.reporting.projections import KEPT, participant_of, reduce, restore
from shared import followups
from shared.contracts.base import DomainEvent
from shared.contracts.casework import (
    CaseEmploymentRecorded,
    SelfFoundEmploymentRecorded,
    SelfFoundEmploymentVerified,
)
from shared.contracts.common import EmploymentType, ExitReason, Phase
from shared.contracts.intake import ParticipantEnrolled
from shared.contracts.placement import EmploymentStarted, EmploymentStatusVerified
from shared.domain import DomainError, Forbidden, InvalidTransition, NotFound
from shared.principal import Principal
from shared.unit_of_work import fold
from shared.vocabulary import Role
from tests.unit.test_casework_handlers import CM, PSY, D, World, ctx

OTHER_CM = Principal("cm-bert", Role.CASE_MANAGER, "jc-en")
LEAD = Principal("lead-lea", Role.PROJECT_LEAD, "jc-en")
START = date(2026, 3, 16)


async def with_manager(w: World) -> UUID:
    pid = await w.open_case()
    await w.bus.handle(AssignCaseManager(participant_id=pid, case_manager="cm-anna", assigned_on=D), ctx(CM))
    return pid


def job(pid: UUID, **kw: object) -> RecordEmployment:
    fields: dict[str, object] = {
        "participant_id": pid,
        "started_on": START,
        "type": EmploymentType.SOCIAL_INSURANCE,
        "hours_per_week": 30,
    }
    return RecordEmployment(**(fields | kw))


async def test_case_manager_records_a_self_found_job_with_no_employer_identity() -> None:
    w = World()
    pid = await with_manager(w)
    r = await w.bus.handle(job(pid, subsidy="16i"), ctx(CM))
    assert r.body["events"] == [SelfFoundEmploymentRecorded.event_type]
    payload = w.store.streams[domain.stream_id(pid)][-1].payload
    assert payload["employment_id"] == r.body["employment_id"]
    assert (payload["type"], payload["subsidy"], payload["hours_per_week"]) == ("social-insurance", "16i", 30)
    assert (payload["agency"], payload["project"]) == ("jc-en", "pro-aktiv")
    assert not {k for k in payload if "employer" in k}
    stream = domain.stream_id(pid)
    loaded = fold(domain.case, stream, await w.store.read_stream(stream))
    assert loaded.state.expected_next_phase is Phase.NACHBETREUUNG


@pytest.mark.parametrize("who", [PSY, OTHER_CM, LEAD])
async def test_only_the_case_manager_of_the_running_agency_records_it(who: Principal) -> None:
    w = World()
    pid = await with_manager(w)
    before = w.events(pid)
    with pytest.raises(Forbidden):
        await w.bus.handle(job(pid), ctx(who))
    assert w.events(pid) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"type": EmploymentType.MINI_JOB, "subsidy": "16e"}, "subsidy"),
        ({"fully_qualifying": True}, "fully_qualifying"),
        ({"started_on": D - timedelta(days=1)}, "started_on"),
    ],
)
async def test_bad_employment_is_refused_naming_the_field(changes: dict[str, object], field: str) -> None:
    w = World()
    pid = await with_manager(w)
    before = w.events(pid)
    with pytest.raises(DomainError) as err:
        await w.bus.handle(job(pid, **changes), ctx(CM))
    assert err.value.field == field
    assert w.events(pid) == before


@pytest.mark.parametrize(("name", "value"), [("hours_per_week", 0), ("hours_per_week", 61), ("subsidy", "16x")])
def test_the_command_validates_hours_and_subsidy(name: str, value: object) -> None:
    with pytest.raises(ValidationError) as err:
        job(uuid4(), **{name: value})
    assert err.value.errors()[0]["loc"] == (name,)


async def test_one_running_job_a_case_so_a_placement_job_is_not_recorded_twice() -> None:
    w = World()
    pid = await with_manager(w)
    first = await w.bus.handle(job(pid), ctx(CM))
    with pytest.raises(InvalidTransition, match="recorded on the case"):
        await w.bus.handle(job(pid), ctx(CM))
    end = EndEmployment(
        participant_id=pid, employment_id=first.body["employment_id"], ended_on=START + timedelta(days=40),
        reason="fixed-term-ended",
    )  # fmt: skip
    await w.bus.handle(end, ctx(CM))
    await w.bus.handle(job(pid, started_on=START + timedelta(days=60)), ctx(CM))
    # a job placement reported (its policy records CaseEmploymentRecorded) blocks one too
    state = domain.case.initial()
    enrolled = ParticipantEnrolled(
        participant_id=pid, project="pro-aktiv", agency="jc-en", start_date=D, age_band="25-34", sex="female"
    )
    for e in domain.open_case(state, enrolled):
        state = domain.evolve(state, e)
    state = domain.evolve(
        state, CaseEmploymentRecorded(case_id=pid, employment_id=uuid4(), started_on=START, employment_type="mini-job")
    )
    with pytest.raises(InvalidTransition, match="reported by placement"):
        domain.employment.record(state, uuid4(), START, EmploymentType.SOCIAL_INSURANCE, 20)


async def test_follow_ups_are_due_as_placements_and_recorded_once() -> None:
    w = World()
    pid = await with_manager(w)
    eid = UUID((await w.bus.handle(job(pid), ctx(CM))).body["employment_id"])

    def follow_up(months: int, on: date) -> RecordEmploymentFollowUp:
        return RecordEmploymentFollowUp(
            participant_id=pid, employment_id=eid, months_after_start=months, verified_on=on, still_employed=True
        )

    due = followups.due_on(START, 6)
    assert due == date(2026, 9, 16)
    with pytest.raises(DomainError, match="due on 2026-09-16") as early:
        await w.bus.handle(follow_up(6, due - timedelta(days=15)), ctx(CM))
    assert early.value.field == "verified_on"
    with pytest.raises(Forbidden):
        await w.bus.handle(follow_up(6, due), ctx(PSY))
    r = await w.bus.handle(follow_up(6, due - timedelta(days=14)), ctx(CM))
    assert r.body["events"] == [SelfFoundEmploymentVerified.event_type]
    with pytest.raises(InvalidTransition, match="already recorded"):
        await w.bus.handle(follow_up(6, due), ctx(CM))
    # the exit does not end the follow-ups: the 12-month one comes after it
    await w.bus.handle(ExitCase(participant_id=pid, exited_on=due, reason=ExitReason.INTEGRATED), ctx(CM))
    r = await w.bus.handle(follow_up(12, followups.due_on(START, 12)), ctx(CM))
    assert r.body["status"] == "exited"
    with pytest.raises(NotFound):
        await w.bus.handle(
            RecordEmploymentFollowUp(
                participant_id=pid, employment_id=uuid4(), months_after_start=6, verified_on=due, still_employed=True
            ),
            ctx(CM),
        )


def _accepted(check: Callable[[], object]) -> bool:
    try:
        check()
    except DomainError:
        return False
    return True


@pytest.mark.parametrize(
    ("on", "months", "ok"), [(date(2026, 9, 1), 6, False), (date(2026, 9, 2), 6, True), (date(2027, 3, 1), 12, False)]
)
def test_placement_and_casework_follow_the_one_rule(on: date, months: int, ok: bool) -> None:
    """Both refuse and accept the same dates: placement's verify_status and casework's verify
    both call shared.followups.check_follow_up."""
    eid, pid = uuid4(), uuid4()
    placed = placement.Employment(None, EmploymentType.SOCIAL_INSURANCE, START)
    cand = placement.Candidate(participant_id=pid, status="active", employments={eid: placed})
    case = domain.Case(case_id=pid, participant_id=pid, status="open", own_jobs={eid: domain.OwnJob(START)})
    verified = EmploymentStatusVerified(
        employment_id=eid, participant_id=pid, months_after_start=months, verified_on=on, still_employed=True
    )
    assert _accepted(partial(placement.verify_status, cand, verified)) is ok
    assert _accepted(partial(domain.employment.verify, case, eid, months, on, True)) is ok
    assert placement.followups.due is followups.due


# --- reporting: counted by the same K2 rules, once ------------------------------------------

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def facts(events: list[DomainEvent]) -> list[journey.Fact]:
    """What the facts projection stores and reads back (reduced, restored)."""
    out = []
    for n, e in enumerate(events):
        assert type(e) in KEPT
        on, data = reduce(e)
        out.append(
            journey.Fact(
                f"{n:05d}",
                T0 + timedelta(seconds=n),
                str(participant_of(e)),
                on,
                restore(e.event_type, orjson.loads(orjson.dumps(data))),
            )
        )
    return out


def enrolled(pid: UUID) -> ParticipantEnrolled:
    return ParticipantEnrolled(
        participant_id=pid,
        project="pro-aktiv",
        agency="jc-en",
        start_date=date(2026, 1, 5),
        age_band="25-34",
        sex="female",
    )


def own(
    pid: UUID, eid: UUID, on: date, type: EmploymentType = EmploymentType.SOCIAL_INSURANCE, **kw: object
) -> DomainEvent:
    return SelfFoundEmploymentRecorded(
        case_id=pid, participant_id=pid, employment_id=eid, agency="jc-en", project="pro-aktiv", started_on=on,
        type=type, hours_per_week=30, **kw,
    )  # fmt: skip


def own_check(pid: UUID, eid: UUID, on: date, still: bool = True) -> DomainEvent:
    return SelfFoundEmploymentVerified(
        case_id=pid, participant_id=pid, employment_id=eid, months_after_start=6, verified_on=on, still_employed=still
    )


def figures(events: list[DomainEvent], quarter: str) -> kpis.Figures:
    return kpis.figures(journey.build_participants(facts(events)).values(), periods.Quarter.parse(quarter))


def test_a_self_found_job_counts_as_k2_and_in_sustainability() -> None:
    people = [uuid4() for _ in range(3)]
    jobs = [uuid4() for _ in people]
    events: list[DomainEvent] = [enrolled(p) for p in people]
    events += [
        own(people[0], jobs[0], date(2026, 3, 16)),
        own(people[1], jobs[1], date(2026, 3, 20), subsidy="16e"),
        own(people[2], jobs[2], date(2026, 3, 2), EmploymentType.MINI_JOB),
        own_check(people[0], jobs[0], date(2026, 9, 16)),
        own_check(people[1], jobs[1], date(2026, 9, 21), still=False),
    ]
    q1 = figures(events, "2026-Q1")
    assert q1["integrations"]["total"] == 2
    assert q1["integrations"]["by_type"]["social-insurance"] == 1
    assert q1["integrations"]["by_type"]["social-insurance-subsidised"] == 1
    assert q1["integrations"]["not_counted"] == 1
    assert q1["subsidies"] == {"total": 1, "by_instrument": {"16e": 1, "16i": 0}}
    assert figures(events, "2026-Q3")["sustainability"]["6_months"] == {"verified": 2, "still_employed": 1, "rate": 0.5}


@pytest.mark.parametrize("placement_first", [True, False])
def test_a_job_recorded_by_placement_and_casework_counts_once_placement_wins(placement_first: bool) -> None:
    pid, own_id, placed_id = uuid4(), uuid4(), uuid4()
    placed: list[DomainEvent] = [
        EmploymentStarted(
            employment_id=placed_id, participant_id=pid, agency="jc-en", project="pro-aktiv",
            started_on=date(2026, 3, 18), type=EmploymentType.SOCIAL_INSURANCE, hours_per_week=30,
        ),
        EmploymentStatusVerified(
            employment_id=placed_id, participant_id=pid, months_after_start=6, verified_on=date(2026, 9, 18),
            still_employed=False,
        ),
    ]  # fmt: skip
    mine: list[DomainEvent] = [
        own(pid, own_id, date(2026, 3, 16), subsidy="16i"),
        own_check(pid, own_id, date(2026, 9, 16)),
    ]
    events = [enrolled(pid), *(placed + mine if placement_first else mine + placed)]
    j = journey.build_participants(facts(events))[str(pid)]
    assert list(j.employments) == [str(placed_id)]
    q1, q3 = figures(events, "2026-Q1"), figures(events, "2026-Q3")
    assert q1["integrations"]["total"] == 1
    assert q1["subsidies"]["total"] == 0
    assert q3["sustainability"]["6_months"] == {"verified": 1, "still_employed": 0, "rate": 0.0}


def test_a_later_self_found_job_is_another_job() -> None:
    pid = uuid4()
    events: list[DomainEvent] = [
        enrolled(pid),
        EmploymentStarted(
            employment_id=uuid4(), participant_id=pid, agency="jc-en", project="pro-aktiv",
            started_on=date(2026, 1, 12), type=EmploymentType.SOCIAL_INSURANCE, hours_per_week=30,
        ),
        own(pid, uuid4(), date(2026, 3, 16)),
    ]  # fmt: skip
    assert figures(events, "2026-Q1")["integrations"]["total"] == 2
