"""The employer aggregate: a company won for the project, its contact log and the erasure of
its contact persons (crypto-shredding: the key goes, the events stay)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from shared.contracts.base import DomainEvent
from shared.contracts.placement import EmployerAcquired, EmployerContactDataErased, EmployerContactLogged
from shared.domain import Decider, InvalidTransition, NotFound
from shared.evolvers import Evolver
from shared.guards import not_before


@dataclass(frozen=True)
class Employer:
    employer_id: UUID | None = None
    agency: str = ""
    company: str = ""
    offers_work_trials: bool = False
    offers_adapted_workplaces: bool = False
    contacts_erased: bool = False

    @property
    def exists(self) -> bool:
        return self.employer_id is not None


evolve_employer = Evolver[Employer]()


evolve_employer.takes(
    EmployerAcquired, "employer_id", "agency", "company", "offers_work_trials", "offers_adapted_workplaces"
)
evolve_employer.sets(EmployerContactDataErased, contacts_erased=True)


employer = Decider[Employer](stream_type="employer", initial=Employer, evolve=evolve_employer)


def employer_stream(employer_id: UUID) -> str:
    return f"employer-{employer_id}"


def acquire_employer(state: Employer, acquired: EmployerAcquired) -> list[DomainEvent]:
    if state.exists:
        raise InvalidTransition("this employer was already acquired")
    return [acquired]


def log_contact(state: Employer, logged: EmployerContactLogged) -> list[DomainEvent]:
    require_employer(state)
    not_before(
        logged.next_contact_on,
        logged.contacted_on,
        "the next contact cannot be before this one",
        field="next_contact_on",
    )
    return [logged]


def erase_contacts(state: Employer, on: date) -> list[DomainEvent]:
    require_employer(state)
    if state.contacts_erased:
        raise InvalidTransition("the contact data of this employer is already erased")
    assert state.employer_id is not None
    return [EmployerContactDataErased(employer_id=state.employer_id, erased_on=on)]


def require_employer(state: Employer) -> None:
    if not state.exists:
        raise NotFound("no such employer", field="employer_id")
