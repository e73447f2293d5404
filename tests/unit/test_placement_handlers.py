"""placement's command handlers on the message bus with the in-memory unit of work: the
journey from employer to follow-up, refusals, 403s and idempotent retries, without PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.placement import domain
from services.placement.commands import (
    AcquireEmployer,
    CloseVacancy,
    ContactPerson,
    EraseContactData,
    LogContact,
    ProposeCandidate,
    RecordFollowUp,
    RecordVacancy,
    StartEmployment,
    StartWorkTrial,
)
from services.placement.domain.matching import JobOffer
from services.placement.domain.workshop import Enrolled
from services.placement.handlers import HANDLERS
from shared.bus import Command, Context, IdempotencyMismatch, Result
from shared.contracts.common import CapacityProfile, EmploymentType, Level
from shared.contracts.placement import CandidateProfilePublished, EmployerAcquired, JobDemands
from shared.domain import Forbidden, InvalidTransition, NotFound
from shared.envelope import Actor, new_id
from shared.eventstore import CommandContext, ConcurrencyConflict
from shared.principal import Principal
from shared.unit_of_work import Loaded, MemoryUnitOfWork, UnitOfWork
from shared.vocabulary import Role
from tests.unit.memory_bus import MemoryService

OFFICER = Principal("officer-1", Role.EMPLOYER_ACQUISITION, "jc-en")
CASE_MANAGER = Principal("cm-1", Role.CASE_MANAGER, "jc-en")
OTHER_OFFICER = Principal("officer-2", Role.EMPLOYER_ACQUISITION, "jc-unna")
DRV = Principal("drv-1", Role.DRV_ADVISER, "drv-westfalen")
DPO = Principal("dpo-1", Role.DATA_PROTECTION_OFFICER, "jc-en")
TODAY = date(2026, 5, 4)
PROFILE = CapacityProfile(max_hours_per_week=30, lifting=Level.LIGHT, mental_load=Level.MODERATE)
DEMANDS = JobDemands(lifting=Level.LIGHT, standing=Level.MODERATE, mental_load=Level.LIGHT)


class FakeKeys:
    """Keys in a dict: sealing is a readable wrapper, erasure drops the key."""

    def __init__(self) -> None:
        self.keys: dict[str, bool] = {}

    async def seal(self, subject_id: str, value: Any, uow: UnitOfWork) -> str:
        if self.keys.get(subject_id) is False:
            raise LookupError(subject_id)
        self.keys[subject_id] = True
        return f"sealed:{subject_id}:{value!r}"

    async def open(self, subject_id: str, token: str) -> Any:
        return token if self.keys.get(subject_id) else "[erased]"

    async def erase(self, subject_id: str, uow: UnitOfWork) -> None:
        self.keys[subject_id] = False


class FakeOffers:
    """The board's view of vacancies, filled by the test."""

    def __init__(self) -> None:
        self.offers: dict[UUID, JobOffer] = {}

    async def offer(self, vacancy_id: UUID, uow: UnitOfWork) -> JobOffer | None:
        return self.offers.get(vacancy_id)


class FakeEnrolments:
    """Intake's enrolments as the workshop projection knows them, filled by the test."""

    def __init__(self) -> None:
        self.enrolments: dict[UUID, Enrolled] = {}

    async def enrolled(self, participant_id: UUID, uow: UnitOfWork) -> Enrolled | None:
        return self.enrolments.get(participant_id)


class Placement(MemoryService):
    def __init__(self) -> None:
        self.keys = FakeKeys()
        self.offers = FakeOffers()
        self.enrolments = FakeEnrolments()
        super().__init__(HANDLERS, keys=self.keys, offers=self.offers, enrolments=self.enrolments)

    async def do(self, command: Command, who: Principal = OFFICER, **ctx: Any) -> Result:
        return await self.bus.handle(command, Context(principal=who, today=TODAY, **ctx))

    async def stream(self, stream_id: str) -> list[str]:
        return [e.event_type for e in await self.store.read_stream(stream_id)]

    async def employer(self, who: Principal = OFFICER) -> UUID:
        body = AcquireEmployer(
            company="Hagener Metallbau GmbH",
            sector="metal",
            size="small",
            region="Hagen",
            contact_persons=[ContactPerson(name="Frau Beispiel")],
            offers_work_trials=True,
            acquired_on=date(2026, 3, 1),
        )
        return UUID((await self.do(body, who)).body["employer_id"])

    async def vacancy(self, employer_id: UUID) -> UUID:
        body = RecordVacancy(
            employer_id=employer_id, title="Lager", hours_per_week=25, demands=DEMANDS, recorded_on=date(2026, 3, 2)
        )
        vacancy_id = UUID((await self.do(body)).body["vacancy_id"])
        self.offers.offers[vacancy_id] = JobOffer(hours_per_week=25, demands=DEMANDS)
        return vacancy_id

    async def candidate(self, agency: str = "jc-en") -> UUID:
        """A candidate in the pool, as the pool policy would publish it."""
        pid = uuid4()
        published = CandidateProfilePublished(
            participant_id=pid, agency=agency, project="pro-aktiv", profile=PROFILE, published_on=date(2026, 4, 1)
        )
        uow = MemoryUnitOfWork(self.store)
        async with uow:
            await uow.append(
                Loaded.new(domain.candidate, domain.candidate_stream(pid)),
                [published],
                CommandContext(Actor(id="placement", role="service"), agency, "pro-aktiv", correlation_id=new_id()),
            )
        return pid


@pytest.fixture
def placement() -> Placement:
    return Placement()


async def test_from_employer_to_follow_up(placement: Placement) -> None:
    employer_id = await placement.employer()
    events = await placement.store.read_stream(domain.employer_stream(employer_id))
    acquired = EmployerAcquired.model_validate(events[0].payload)
    assert acquired.agency == "jc-en"
    assert acquired.sealed_contacts.startswith(f"sealed:{employer_id}")  # never in clear
    assert events[0].project == "pro-aktiv"

    vacancy_id = await placement.vacancy(employer_id)
    pid = await placement.candidate()
    proposed = await placement.do(ProposeCandidate(participant_id=pid, vacancy_id=vacancy_id, proposed_on=TODAY))
    assert proposed.body["participant_id"] == str(pid)
    assert proposed.body["match_score"] == 100
    assert proposed.body["version"] == 2

    trial = StartWorkTrial(participant_id=pid, employer_id=employer_id, vacancy_id=vacancy_id, started_on=TODAY)
    assert (await placement.do(trial, CASE_MANAGER)).body["status"] == "running"
    job = StartEmployment(
        participant_id=pid,
        employer_id=employer_id,
        started_on=date(2026, 6, 1),
        type=EmploymentType.SOCIAL_INSURANCE,
        hours_per_week=25,
    )
    employment_id = UUID((await placement.do(job)).body["employment_id"])
    follow = RecordFollowUp(
        participant_id=pid,
        employment_id=employment_id,
        months_after_start=6,
        verified_on=date(2026, 12, 1),
        still_employed=True,
    )
    assert (await placement.do(follow)).body["months_after_start"] == 6
    assert await placement.stream(domain.candidate_stream(pid)) == [
        "CandidateProfilePublished",
        "CandidateProposed",
        "WorkTrialStarted",
        "EmploymentStarted",
        "EmploymentStatusVerified",
    ]
    started = (await placement.store.read_stream(domain.candidate_stream(pid)))[3]
    assert (started.agency, started.project) == ("jc-en", "pro-aktiv")  # the case's, not the caller's


async def test_refusals(placement: Placement) -> None:
    employer_id = await placement.employer()
    vacancy_id = await placement.vacancy(employer_id)
    await placement.do(CloseVacancy(vacancy_id=vacancy_id, closed_on=TODAY, reason="filled"))
    with pytest.raises(InvalidTransition):
        await placement.do(CloseVacancy(vacancy_id=vacancy_id, closed_on=TODAY, reason="filled"))
    pid = await placement.candidate()
    with pytest.raises(InvalidTransition, match="not open"):
        await placement.do(ProposeCandidate(participant_id=pid, vacancy_id=vacancy_id, proposed_on=TODAY))
    with pytest.raises(NotFound):
        await placement.do(ProposeCandidate(participant_id=uuid4(), vacancy_id=vacancy_id, proposed_on=TODAY))
    with pytest.raises(NotFound):
        await placement.do(CloseVacancy(vacancy_id=uuid4(), closed_on=TODAY, reason="filled"))
    assert await placement.stream(domain.candidate_stream(pid)) == ["CandidateProfilePublished"]


async def test_forbidden(placement: Placement) -> None:
    employer_id = await placement.employer()
    vacancy_id = await placement.vacancy(employer_id)
    pid = await placement.candidate()
    with pytest.raises(Forbidden):  # read-only role
        await placement.employer(DRV)
    with pytest.raises(Forbidden):  # not a partner agency's vacancy
        await placement.do(CloseVacancy(vacancy_id=vacancy_id, closed_on=TODAY, reason="filled"), OTHER_OFFICER)
    with pytest.raises(NotFound):  # another agency's candidate: its existence is confidential
        await placement.do(
            ProposeCandidate(participant_id=pid, vacancy_id=vacancy_id, proposed_on=TODAY), OTHER_OFFICER
        )
    with pytest.raises(Forbidden):  # a case manager may not record vacancies
        await placement.do(
            RecordVacancy(employer_id=employer_id, title="x", hours_per_week=10, demands=DEMANDS, recorded_on=TODAY),
            CASE_MANAGER,
        )
    log = LogContact(employer_id=employer_id, contacted_on=TODAY, channel="phone", topic="visit")
    with pytest.raises(Forbidden):
        await placement.do(log, OTHER_OFFICER)
    assert await placement.stream(domain.employer_stream(employer_id)) == ["EmployerAcquired"]


async def test_idempotent_retry_acts_once(placement: Placement) -> None:
    employer_id = await placement.employer()
    vacancy_id = await placement.vacancy(employer_id)
    pid = await placement.candidate()
    body = ProposeCandidate(participant_id=pid, vacancy_id=vacancy_id, proposed_on=TODAY)
    first = await placement.do(body, idempotency_key="k-1")
    again = await placement.do(body, idempotency_key="k-1")
    assert again.replayed
    assert again.body == first.body
    assert await placement.stream(domain.candidate_stream(pid)) == ["CandidateProfilePublished", "CandidateProposed"]
    with pytest.raises(IdempotencyMismatch):
        await placement.do(body.model_copy(update={"proposed_on": date(2026, 5, 5)}), idempotency_key="k-1")
    acquired = await placement.employer()
    assert acquired != employer_id  # without a key every acquisition is a new employer


async def test_stale_if_match_conflicts(placement: Placement) -> None:
    employer_id = await placement.employer()
    log = LogContact(employer_id=employer_id, contacted_on=TODAY, channel="phone", topic="visit", notes="ruft zurück")
    assert (await placement.do(log, expected_version=1)).body["version"] == 2
    with pytest.raises(ConcurrencyConflict):
        await placement.do(log, expected_version=1)


async def test_contact_erasure_destroys_the_key_first(placement: Placement) -> None:
    employer_id = await placement.employer()
    erase = EraseContactData(employer_id=employer_id, erased_on=TODAY)
    assert (await placement.do(erase, DPO)).body == {
        "employer_id": str(employer_id),
        "contacts_erased": True,
        "version": 2,
    }
    assert placement.keys.keys[str(employer_id)] is False
    with pytest.raises(InvalidTransition):
        await placement.do(erase, DPO)
    with pytest.raises(Forbidden):
        await placement.do(erase, CASE_MANAGER)


def test_visibility_takes_no_client_chosen_day() -> None:
    """Who may see a candidate is decided on the service's today: a ``?today=`` on the pool
    views let a DRV adviser pick a day on which an ended consent still held. Only the planning
    views keep the parameter (it moves their horizon)."""
    from services.placement.app import build

    paths = build().openapi()["paths"]

    def query(path: str) -> set[str]:
        return {p["name"] for p in paths[path]["get"].get("parameters", []) if p["in"] == "query"}

    for path in ("/candidates", "/candidates/{participant_id}", "/candidates/{participant_id}/vacancies"):
        assert "today" not in query(path), path
    assert "today" not in query("/vacancies/{vacancy_id}/candidates")
    assert "today" in query("/follow-ups/due")
    assert "today" in query("/today")


async def test_a_command_loads_each_aggregate_once(placement: Placement, monkeypatch: pytest.MonkeyPatch) -> None:
    """Authorisation runs on the state the handler loaded (the old path loaded it twice)."""
    employer_id = await placement.employer()
    vacancy_id = await placement.vacancy(employer_id)
    pid = await placement.candidate()
    reads: list[str] = []
    read_stream = placement.store.read_stream

    async def counting(stream_id: str, **kw: Any) -> Any:
        reads.append(stream_id)
        return await read_stream(stream_id, **kw)

    monkeypatch.setattr(placement.store, "read_stream", counting)
    trial = StartWorkTrial(participant_id=pid, employer_id=employer_id, vacancy_id=vacancy_id, started_on=TODAY)
    await placement.do(trial)
    assert sorted(reads) == sorted(
        [domain.candidate_stream(pid), domain.employer_stream(employer_id), domain.vacancy_stream(vacancy_id)]
    )
