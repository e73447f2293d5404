"""One participant's journey as reporting knows it (by pseudonymous id only), folded from the
facts: each fact carries its decoded contract event, and the fold dispatches on its class.
Pure: no infrastructure here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import singledispatch

from shared.consent import ConsentTerm
from shared.contracts.base import DomainEvent
from shared.contracts.casework import (
    CaseHandedOver,
    CaseManagerAssigned,
    CaseOpened,
    CaseTransferred,
    InterventionAborted,
    InterventionCompleted,
    InterventionStarted,
    ParticipantExited,
    ParticipationInterrupted,
    PhaseCompleted,
    PhaseEntered,
    RehabApplicationDecided,
    RehabApplicationFiled,
    SelfFoundEmploymentEnded,
    SelfFoundEmploymentRecorded,
    SelfFoundEmploymentVerified,
)
from shared.contracts.common import ConsentPurpose, EmploymentType
from shared.contracts.intake import (
    ConsentExpired,
    ConsentGranted,
    ConsentWithdrawn,
    EligibilityChecked,
    EnrolmentDeclined,
    ParticipantDataErased,
    ParticipantEnrolled,
    ReferralReceived,
)
from shared.contracts.placement import (
    EmploymentEnded,
    EmploymentStarted,
    EmploymentStatusVerified,
    WageSubsidyGranted,
    WorkTrialAborted,
    WorkTrialCompleted,
    WorkTrialStarted,
)


@dataclass(frozen=True, slots=True)
class Fact:
    """One row of the ``facts`` read model: the business date, the recording time at the source
    and the event (decoded; it holds only the fields the projection keeps)."""

    event_id: str
    recorded_at: datetime
    participant_id: str | None
    on: date
    event: DomainEvent

    @property
    def event_type(self) -> str:
        return self.event.event_type


@dataclass
class Span:
    phase: str
    entered: date
    left: date | None = None


@dataclass
class Employment:
    type: str
    subsidised: bool
    fully_qualifying: bool
    started: date
    agency: str | None
    project: str | None
    ended: date | None = None
    source: str = "placement"  # or "casework": a job the participant found without placement

    @property
    def integration(self) -> bool:
        """Jobcenter ratio K2: social insurance (subsidised too), fully qualifying vocational
        training or self-employment; never mini-jobs."""
        if self.type == EmploymentType.VOCATIONAL_TRAINING:
            return self.fully_qualifying
        return self.type in (EmploymentType.SOCIAL_INSURANCE, EmploymentType.SELF_EMPLOYMENT)

    @property
    def kind(self) -> str:
        if self.type == EmploymentType.SOCIAL_INSURANCE and self.subsidised:
            return "social-insurance-subsidised"
        return self.type


@dataclass
class Steps:
    """When an intervention or a work trial started, was completed or aborted."""

    category: str | None = None
    started: date | None = None
    completed: date | None = None
    aborted: date | None = None


@dataclass
class Rehab:
    """One rehab application: filed and (once the carrier decided) decided on."""

    filed: date | None = None
    decided: date | None = None


@dataclass
class Consent:
    purpose: ConsentPurpose
    scope: str | None
    term: ConsentTerm

    def active_on(self, day: date) -> bool:
        return self.term.active_on(day)


@dataclass
class Journey:
    """Everything reporting knows about one participant (by pseudonymous id only)."""

    participant_id: str
    agency: str | None = None
    project: str | None = None
    age_band: str | None = None
    sex: str | None = None
    referred_on: date | None = None
    checks: list[tuple[date, bool]] = field(default_factory=list)
    enrolled_on: date | None = None
    declined_on: date | None = None
    exited_on: date | None = None
    exit_reason: str | None = None
    spans: list[Span] = field(default_factory=list)
    interruptions: list[date] = field(default_factory=list)
    interventions: dict[str, Steps] = field(default_factory=dict)
    rehab_filed: list[date] = field(default_factory=list)
    rehab: dict[str, Rehab] = field(default_factory=dict)  # application id -> its dates
    trials: dict[str, Steps] = field(default_factory=dict)
    employments: dict[str, Employment] = field(default_factory=dict)
    verifications: list[tuple[str, int, date, bool]] = field(default_factory=list)
    subsidies: dict[str, tuple[str, date]] = field(default_factory=dict)  # id -> (§ 16e/16i, granted)
    consents: dict[str, Consent] = field(default_factory=dict)
    managers: list[tuple[date, str]] = field(default_factory=list)
    transfers: list[tuple[date, str]] = field(default_factory=list)  # (transferred_on, to_agency)
    erased: bool = False

    def agency_on(self, day: date) -> str | None:
        """The agency running the case on ``day``: ``agency`` (the referral's running agency,
        as enrolled and opened), then each case transfer's receiving agency from its date on."""
        current = self.agency
        for on, to in self.transfers:
            if on <= day:
                current = to
        return current

    def active_on(self, day: date) -> bool:
        return (
            self.enrolled_on is not None
            and self.enrolled_on <= day
            and (self.exited_on is None or self.exited_on > day)
        )

    def phase_on(self, day: date) -> str:
        for span in reversed(self.spans):
            if span.entered <= day and (span.left is None or span.left > day):
                return span.phase
        return "none"

    def manager_on(self, day: date) -> str | None:
        current = None
        for on, who in self.managers:
            if on <= day:
                current = who
        return current

    def consent_active(self, purpose: ConsentPurpose, day: date, scope: str | None = None) -> bool:
        """A consent for ``purpose`` (with ``scope``: unscoped or that scope) holds on ``day``,
        by the one consent rule (``shared.consent``)."""
        return any(
            c.purpose == purpose and (scope is None or c.scope in (None, scope)) and c.active_on(day)
            for c in self.consents.values()
        )

    def close_span(self, on: date) -> None:
        if self.spans and self.spans[-1].left is None:
            self.spans[-1].left = on


# --- the fold: one small function per contract class -----------------------------------------


@singledispatch
def apply(event: DomainEvent, j: Journey, on: date) -> None:
    """A fact the journey does not need (declined, withdrawn, resumed ...) changes nothing."""


@apply.register
def _referral(e: ReferralReceived, j: Journey, on: date) -> None:
    j.referred_on = on
    j.agency = j.agency or e.running_agency
    j.project = j.project or e.project
    j.age_band, j.sex = e.age_band, e.sex


@apply.register
def _eligibility(e: EligibilityChecked, j: Journey, on: date) -> None:
    j.checks.append((on, e.eligible))


@apply.register
def _enrolled(e: ParticipantEnrolled, j: Journey, on: date) -> None:
    j.enrolled_on = on
    j.age_band, j.sex = e.age_band or j.age_band, e.sex or j.sex
    j.agency, j.project = e.agency or j.agency, e.project or j.project


@apply.register
def _declined(e: EnrolmentDeclined, j: Journey, on: date) -> None:
    j.declined_on = on


@apply.register
def _case_opened(e: CaseOpened, j: Journey, on: date) -> None:
    j.agency, j.project = e.agency or j.agency, e.project or j.project


@apply.register
def _transferred(e: CaseTransferred, j: Journey, on: date) -> None:
    j.transfers.append((on, e.to_agency))


@apply.register
def _consent_granted(e: ConsentGranted, j: Journey, on: date) -> None:
    j.consents[str(e.consent_id)] = Consent(e.purpose, e.scope, ConsentTerm(on, e.expires_on))


@apply.register
def _consent_ended(e: ConsentWithdrawn | ConsentExpired, j: Journey, on: date) -> None:
    consent = j.consents.get(str(e.consent_id))
    if consent is not None and consent.term.ended_on is None:
        consent.term = consent.term.ended(on)


@apply.register
def _erased(e: ParticipantDataErased, j: Journey, on: date) -> None:
    j.erased = True


@apply.register
def _manager(e: CaseManagerAssigned, j: Journey, on: date) -> None:
    j.managers.append((on, e.case_manager))


@apply.register
def _handed_over(e: CaseHandedOver, j: Journey, on: date) -> None:
    j.managers.append((on, e.to_case_manager))


@apply.register
def _phase_entered(e: PhaseEntered, j: Journey, on: date) -> None:
    j.close_span(on)
    j.spans.append(Span(e.phase.value, on))


@apply.register
def _phase_completed(e: PhaseCompleted, j: Journey, on: date) -> None:
    j.close_span(on)


@apply.register
def _interrupted(e: ParticipationInterrupted, j: Journey, on: date) -> None:
    j.interruptions.append(on)


def _intervention(j: Journey, e: InterventionStarted | InterventionCompleted | InterventionAborted) -> Steps:
    return j.interventions.setdefault(str(e.intervention_id), Steps(category=e.category.value))


@apply.register
def _intervention_started(e: InterventionStarted, j: Journey, on: date) -> None:
    _intervention(j, e).started = on


@apply.register
def _intervention_completed(e: InterventionCompleted, j: Journey, on: date) -> None:
    _intervention(j, e).completed = on


@apply.register
def _intervention_aborted(e: InterventionAborted, j: Journey, on: date) -> None:
    _intervention(j, e).aborted = on


@apply.register
def _rehab_filed(e: RehabApplicationFiled, j: Journey, on: date) -> None:
    j.rehab_filed.append(on)
    j.rehab.setdefault(str(e.application_id), Rehab()).filed = on


@apply.register
def _rehab_decided(e: RehabApplicationDecided, j: Journey, on: date) -> None:
    j.rehab.setdefault(str(e.application_id), Rehab()).decided = on


@apply.register
def _trial_started(e: WorkTrialStarted, j: Journey, on: date) -> None:
    j.trials.setdefault(str(e.trial_id), Steps()).started = on


@apply.register
def _trial_completed(e: WorkTrialCompleted, j: Journey, on: date) -> None:
    j.trials.setdefault(str(e.trial_id), Steps()).completed = on


@apply.register
def _trial_aborted(e: WorkTrialAborted, j: Journey, on: date) -> None:
    j.trials.setdefault(str(e.trial_id), Steps()).aborted = on


@apply.register
def _exited(e: ParticipantExited, j: Journey, on: date) -> None:
    j.close_span(on)
    j.exited_on, j.exit_reason = on, e.reason.value


@apply.register
def _employment_started(e: EmploymentStarted, j: Journey, on: date) -> None:
    j.employments[str(e.employment_id)] = Employment(
        e.type.value, e.subsidised, e.fully_qualifying, on, e.agency, e.project
    )


@apply.register
def _employment_ended(e: EmploymentEnded | SelfFoundEmploymentEnded, j: Journey, on: date) -> None:
    employment = j.employments.get(str(e.employment_id))
    if employment is not None:
        employment.ended = on


@apply.register
def _verified(e: EmploymentStatusVerified | SelfFoundEmploymentVerified, j: Journey, on: date) -> None:
    """A follow-up of placement's or of a self-found job (the same rule, shared.followups)."""
    j.verifications.append((str(e.employment_id), e.months_after_start, on, e.still_employed))


@apply.register
def _subsidy(e: WageSubsidyGranted, j: Journey, on: date) -> None:
    j.subsidies[str(e.subsidy_id)] = (e.instrument, on)


@apply.register
def _self_found(e: SelfFoundEmploymentRecorded, j: Journey, on: date) -> None:
    """Counted like placement's EmploymentStarted (the same K2 rule); a § 16e / § 16i subsidy
    on it counts among the subsidies by the job's start."""
    j.employments[str(e.employment_id)] = Employment(
        e.type.value, e.subsidised, e.fully_qualifying, on, e.agency, e.project, source=CASEWORK
    )
    if e.subsidy is not None:
        j.subsidies[_subsidy_key(str(e.employment_id))] = (e.subsidy, on)


# --- one job, recorded twice ------------------------------------------------------------------

CASEWORK = "casework"
# A self-found job and a placement job of the same participant starting this close together
# are taken to be the same job (a case manager's start date may be a few days off).
SAME_JOB_DAYS = 31


def _subsidy_key(employment_id: str) -> str:
    return f"employment-{employment_id}"


def same_job(own: Employment, placed: Employment) -> bool:
    return abs((own.started - placed.started).days) <= SAME_JOB_DAYS


def drop_duplicates(j: Journey) -> None:
    """Placement's record of a job wins over the case manager's: it is the one its wage subsidy,
    aftercare and follow-ups refer to. A self-found job that a placement job of the same
    participant matches (``same_job``) is dropped with its follow-ups and its subsidy, so the
    participant counts once, whichever of the two arrived first."""
    placed = [e for e in j.employments.values() if e.source != CASEWORK]
    twice = {eid for eid, e in j.employments.items() if e.source == CASEWORK and any(same_job(e, p) for p in placed)}
    if not twice:
        return
    j.employments = {eid: e for eid, e in j.employments.items() if eid not in twice}
    j.verifications = [v for v in j.verifications if v[0] not in twice]
    for eid in twice:
        j.subsidies.pop(_subsidy_key(eid), None)


def build_participants(facts: Iterable[Fact], cutoff: datetime | None = None) -> dict[str, Journey]:
    """Fold facts (those recorded by ``cutoff``, if given) in recording order into journeys."""
    chosen = [f for f in facts if f.participant_id and (cutoff is None or f.recorded_at <= cutoff)]
    chosen.sort(key=lambda f: (f.recorded_at, f.event_id))
    out: dict[str, Journey] = {}
    for f in chosen:
        assert f.participant_id is not None
        apply(f.event, out.setdefault(f.participant_id, Journey(f.participant_id)), f.on)
    for j in out.values():
        drop_duplicates(j)
        if not j.agency:
            e = next(iter(j.employments.values()), None)
            j.agency, j.project = (e.agency, e.project) if e else (None, None)
    return out
