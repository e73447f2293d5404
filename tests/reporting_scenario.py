"""Scripted journeys for the reporting tests, with the KPIs worked out by hand (see comments).

Ten participants across jc-en, jc-mk and drv-westfalen (pro-aktiv) and jc-unna (pluspunkt).
``STEPS`` are contract events in the order they are recorded; unit tests turn them into facts,
the end-to-end test appends them to each service's event store.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.contracts import casework as cw
from shared.contracts import intake as it
from shared.contracts import placement as pl
from shared.contracts.base import DomainEvent
from shared.contracts.common import ConsentPurpose, EmploymentType, ExitReason, InterventionCategory, Phase

NS = uuid.UUID("0b8c1f7e-61a2-4f3c-9a1e-7e4b2b2f0c11")


def uid(name: str) -> uuid.UUID:
    return uuid.uuid5(NS, name)


@dataclass(frozen=True)
class Step:
    service: str  # intake | casework | placement
    participant: str  # P1..P10
    agency: str
    project: str
    event: DomainEvent

    @property
    def pid(self) -> uuid.UUID:
        return uid(self.participant)

    @property
    def stream_id(self) -> str:
        prefix = {"intake": "participant", "casework": "case", "placement": "placement"}[self.service]
        return f"{prefix}-{self.pid}"


IDENTITIES: dict[str, dict[str, Any]] = {
    "P1": {"first_name": "Anna", "last_name": "Eins", "birth_date": "1980-07-15", "insurance_number": "12150780A111"},
    "P2": {"first_name": "Ben", "last_name": "Zwei", "birth_date": "1990-01-01", "insurance_number": "12010190B222"},
    "P4": {"first_name": "Cem", "last_name": "Vier", "birth_date": "1970-06-30", "insurance_number": "12300670C444"},
}

STEPS: list[Step] = []
_ORDER = {"P1": "jc-en", "P2": "jc-en", "P3": "jc-en", "P4": "jc-en", "P5": "jc-en", "P6": "jc-en",
          "P7": "jc-mk", "P8": "jc-mk", "P9": "drv-westfalen", "P10": "jc-unna"}  # fmt: skip


def _project(p: str) -> str:
    return "pluspunkt" if _ORDER[p] == "jc-unna" else "pro-aktiv"


def _whose(p: str) -> dict[str, Any]:
    """The participant, running agency and project that enrolment, case and employment events
    of ``p`` all carry."""
    return {"participant_id": uid(p), "agency": _ORDER[p], "project": _project(p)}


def _add(p: str, event: DomainEvent) -> None:
    """One step of ``p``'s history, in the service whose contract the event is (``shared.contracts.<service>``)."""
    service = type(event).__module__.rsplit(".", 1)[1]
    STEPS.append(Step(service, p, _ORDER[p], _project(p), event))


def d(text: str) -> date:
    return date.fromisoformat(text)


def refer(p: str, on: str, eligible: bool | None = True, checked: str | None = None) -> None:
    _add(
        p,
        it.ReferralReceived(
            participant_id=uid(p),
            source_agency=_ORDER[p],
            project=_project(p),
            referred_by="cm",
            received_on=d(on),
            age_band="35-44",
            sex="female",
            sealed_identity="",  # the e2e test seals the real identity with intake's key
            sealed_reason="sealed",
        ),
    )
    if eligible is not None:
        _add(
            p,
            it.EligibilityChecked(
                participant_id=uid(p),
                checked_on=d(checked or on),
                voluntary=True,
                willing_to_address_impairments=eligible,
                declined_lta=False,
                eligible=eligible,
            ),
        )


def consent(p: str, purpose: ConsentPurpose, on: str, withdrawn: str | None = None) -> None:
    cid = uid(f"{p}-{purpose}")
    scope = "drv-westfalen" if purpose == ConsentPurpose.DRV_EXCHANGE else None
    _add(
        p,
        it.ConsentGranted(
            participant_id=uid(p), consent_id=cid, purpose=purpose, scope=scope, granted_on=d(on), form="written"
        ),
    )
    if withdrawn:
        _add(
            p,
            it.ConsentWithdrawn(
                participant_id=uid(p), consent_id=cid, purpose=purpose, scope=scope, effective_on=d(withdrawn)
            ),
        )


def enrol(p: str, on: str, manager: str) -> None:
    _add(
        p,
        it.ParticipantEnrolled(**_whose(p), start_date=d(on), age_band="35-44", sex="female"),
    )
    _add(p, cw.CaseOpened(**_whose(p), case_id=uid(p), opened_on=d(on)))
    _add(p, cw.CaseManagerAssigned(case_id=uid(p), case_manager=manager, assigned_on=d(on)))
    phase(p, Phase.EINSTIEG, on)


def phase(p: str, ph: Phase, on: str) -> None:
    _add(p, cw.PhaseEntered(case_id=uid(p), phase=ph, entered_on=d(on)))


def exit_(p: str, on: str, reason: ExitReason) -> None:
    _add(p, cw.ParticipantExited(case_id=uid(p), participant_id=uid(p), exited_on=d(on), reason=reason))


def employ(p: str, key: str, on: str, kind: EmploymentType, subsidised: bool = False, fq: bool = False) -> None:
    _add(
        p,
        pl.EmploymentStarted(
            **_whose(p),
            employment_id=uid(key),
            started_on=d(on),
            type=kind,
            subsidised=subsidised,
            fully_qualifying=fq,
            hours_per_week=30,
        ),
    )


def verify(p: str, key: str, months: int, on: str, still: bool) -> None:
    _add(
        p,
        pl.EmploymentStatusVerified(
            employment_id=uid(key),
            participant_id=uid(p),
            months_after_start=months,
            verified_on=d(on),
            still_employed=still,
        ),
    )


def intervention(p: str, key: str, cat: InterventionCategory, on: str, completed: str | None = None) -> None:
    # planned first: casework's own decider folds these streams and refuses a start of nothing
    _add(
        p,
        cw.InterventionPlanned(
            case_id=uid(p), intervention_id=uid(key), category=cat, provider="Praxis am Markt", planned_start=d(on)
        ),
    )
    _add(p, cw.InterventionStarted(case_id=uid(p), intervention_id=uid(key), category=cat, started_on=d(on)))
    if completed:
        _add(
            p,
            cw.InterventionCompleted(case_id=uid(p), intervention_id=uid(key), category=cat, completed_on=d(completed)),
        )


# P6 (jc-en): 2024 entry, self-employed 2024-12-01, follow-ups 2025-06-01 (yes) and 2025-12-01 (no)
refer("P6", "2024-09-01", checked="2024-09-10")
enrol("P6", "2024-10-01", "cm-a")
phase("P6", Phase.STELLENSUCHE, "2024-10-15")
employ("P6", "E6", "2024-12-01", EmploymentType.SELF_EMPLOYMENT)
phase("P6", Phase.NACHBETREUUNG, "2024-12-01")
exit_("P6", "2025-03-31", ExitReason.REGULAR_END)
verify("P6", "E6", 6, "2025-06-01", True)
verify("P6", "E6", 12, "2025-12-01", False)

# P1 (jc-en): the full journey, integrated 2025-07-01 (subsidised social insurance)
refer("P1", "2025-01-10", checked="2025-01-20")
consent("P1", ConsentPurpose.MONITORING, "2025-01-20")
enrol("P1", "2025-02-01", "cm-a")
phase("P1", Phase.CLEARING, "2025-02-15")
phase("P1", Phase.STABILISIERUNG, "2025-03-17")
_add("P1", cw.ParticipationInterrupted(case_id=uid("P1"), interrupted_on=d("2025-04-01")))
_add("P1", cw.ParticipationResumed(case_id=uid("P1"), resumed_on=d("2025-04-20")))
phase("P1", Phase.PRODUKTIONSWERKSTATT, "2025-05-01")
_add(
    "P1",
    pl.WorkTrialStarted(trial_id=uid("T1"), participant_id=uid("P1"), employer_id=uid("X"), started_on=d("2025-05-10")),
)
_add(
    "P1",
    pl.WorkTrialCompleted(trial_id=uid("T1"), participant_id=uid("P1"), completed_on=d("2025-06-10"), outcome="offer"),
)
phase("P1", Phase.STELLENSUCHE, "2025-06-15")
employ("P1", "E1", "2025-07-01", EmploymentType.SOCIAL_INSURANCE, subsidised=True)
phase("P1", Phase.NACHBETREUUNG, "2025-07-01")
exit_("P1", "2025-09-30", ExitReason.INTEGRATED)

# P2 (jc-en): drops out in clearing; monitoring consent withdrawn later; drv-exchange active
refer("P2", "2025-01-12", checked="2025-01-20")
consent("P2", ConsentPurpose.MONITORING, "2025-01-20", withdrawn="2025-10-01")
consent("P2", ConsentPurpose.DRV_EXCHANGE, "2025-01-20")
enrol("P2", "2025-02-03", "cm-a")
phase("P2", Phase.CLEARING, "2025-02-20")
exit_("P2", "2025-03-20", ExitReason.DROPPED_OUT)

# P3 (jc-en): not eligible
refer("P3", "2025-01-15", eligible=False, checked="2025-01-25")

# P4 (jc-en): interventions, rehab application, exit to disability pension
refer("P4", "2025-02-01", checked="2025-02-10")
consent("P4", ConsentPurpose.MONITORING, "2025-02-10")
enrol("P4", "2025-02-15", "cm-b")
phase("P4", Phase.CLEARING, "2025-03-01")
phase("P4", Phase.STABILISIERUNG, "2025-04-01")
intervention("P4", "I1", InterventionCategory.THERAPEUTIC, "2025-04-05", completed="2025-06-30")
intervention("P4", "I2", InterventionCategory.DEBT_COUNSELLING, "2025-04-10")
_add(
    "P4",
    cw.RehabApplicationFiled(
        case_id=uid("P4"), application_id=uid("R1"), filed_on=d("2025-05-01"), carrier="drv-westfalen", kind="medical"
    ),
)
exit_("P4", "2025-06-30", ExitReason.DISABILITY_PENSION)

# P5 (jc-en): handed over, skips to job search, a mini-job (not K2) then social insurance
refer("P5", "2025-03-01", checked="2025-03-05")
enrol("P5", "2025-03-10", "cm-b")
phase("P5", Phase.CLEARING, "2025-03-31")
_add(
    "P5",
    cw.CaseHandedOver(
        case_id=uid("P5"), from_case_manager="cm-b", to_case_manager="cm-a", handed_over_on=d("2025-05-01")
    )
    if hasattr(cw, "CaseHandedOver")
    else cw.CaseManagerAssigned(case_id=uid("P5"), case_manager="cm-a", assigned_on=d("2025-05-01")),
)
phase("P5", Phase.STELLENSUCHE, "2025-05-01")
employ("P5", "E5a", "2025-06-01", EmploymentType.MINI_JOB)
employ("P5", "E5b", "2025-08-01", EmploymentType.SOCIAL_INSURANCE)
verify("P5", "E5a", 6, "2025-12-01", True)  # a mini-job: no sustainability figure

# P7, P8 (jc-mk): drv-exchange active / withdrawn 2025-05-01; fully qualifying / other training
refer("P7", "2025-01-05")
consent("P7", ConsentPurpose.DRV_EXCHANGE, "2025-01-10")
enrol("P7", "2025-01-20", "cm-c")
employ("P7", "E7", "2025-04-01", EmploymentType.VOCATIONAL_TRAINING, fq=True)
refer("P8", "2025-01-06")
consent("P8", ConsentPurpose.DRV_EXCHANGE, "2025-01-10", withdrawn="2025-05-01")
enrol("P8", "2025-01-21", "cm-c")
employ("P8", "E8", "2025-05-01", EmploymentType.VOCATIONAL_TRAINING, fq=False)

# P9 (drv-westfalen) and P10 (jc-unna, pluspunkt)
refer("P9", "2025-02-01")
enrol("P9", "2025-02-15", "drv-a")
refer("P10", "2025-01-02")
enrol("P10", "2025-01-15", "cm-u")
_add("P10", cw.ParticipationInterrupted(case_id=uid("P10"), interrupted_on=d("2025-02-01")))

# after jc-en closes 2025-Q2: a work trial recorded late (a correction)
LATE = Step(
    "placement",
    "P5",
    "jc-en",
    "pro-aktiv",
    pl.WorkTrialStarted(trial_id=uid("T5"), participant_id=uid("P5"), employer_id=uid("X"), started_on=d("2025-06-01")),
)

# --- hand-worked figures ------------------------------------------------------------------------
ZERO_PHASES = {p.value: 0 for p in Phase} | {"none": 0}
ZERO_CATEGORIES = {c.value: 0 for c in InterventionCategory}
ZERO_EXITS = {r.value: 0 for r in ExitReason}
ZERO_INTEGRATION_TYPES = {
    "social-insurance": 0,
    "social-insurance-subsidised": 0,
    "vocational-training": 0,
    "self-employment": 0,
}
NO_FOLLOW_UP = {"verified": 0, "still_employed": 0, "rate": None}
NO_HEALTH_EXITS = {"total": 0, "by_reason": {"transferred-to-rehabilitation": 0, "disability-pension": 0}}
NO_SUBSIDIES = {"total": 0, "by_instrument": {"16e": 0, "16i": 0}}
NO_REHAB_DECISIONS = {"decided": 0, "median_days": None}

# jc-en's view, 2025-Q1 (one group: jc-en / pro-aktiv, so group == total)
JC_EN_Q1: dict[str, Any] = {
    "referrals": 5,  # P1, P2, P3, P4, P5
    # referrals, eligibility and enrolments under one rule: none of them is a health figure
    "eligibility": {"checked": 5, "eligible": 4, "rate": 0.8},  # 4 of 5 (P3 not)
    "enrolments": 4,  # P1, P2, P4, P5
    "declined": 0,
    "participants": 5,  # P1, P2, P4, P5 and P6 (active until its exit on 2025-03-31)
    # on 2025-03-31: P1 stabilisierung, P4 clearing, P5 clearing (P2 and P6 have left)
    "active": {"total": 3, "by_phase": ZERO_PHASES | {"stabilisierung": 1, "clearing": 2}},
    "caseload": {"workers": 2, "mean": 1.5, "max": 2, "by_worker": {"cm-a": 1, "cm-b": 2}},
    # spans ending in Q1: einstieg 14 (P1), 17 (P2), 14 (P4), 21 (P5); clearing 30 (P1), 28 (P2);
    # nachbetreuung 120 (P6, 2024-12-01 to the exit on 2025-03-31)
    "phase_days": {
        "einstieg": {"n": 4, "median": 15.5, "p90": 21},
        "clearing": {"n": 2, "median": 29.0, "p90": 30},
        "nachbetreuung": {"n": 1, "median": 120, "p90": 120},
    },
    "interruptions": 0,
    "interventions": {"started": 0, "by_category": ZERO_CATEGORIES, "completed": 0, "aborted": 0},
    "work_trials": {"started": 0, "completed": 0, "aborted": 0},
    "exits": {"total": 2, "by_reason": ZERO_EXITS | {"dropped-out": 1, "regular-end": 1}},
    "health_exits": NO_HEALTH_EXITS,
    "integrations": {
        "total": 0,
        "by_type": ZERO_INTEGRATION_TYPES,
        "not_counted": 0,
    },
    "integration_rate": 0.0,
    "sustainability": {"6_months": NO_FOLLOW_UP, "12_months": NO_FOLLOW_UP},
    "subsidies": NO_SUBSIDIES,
    "rehab_applications": 0,
    "rehab_waiting": NO_REHAB_DECISIONS,
    "disability_pension_exits": 0,
}

JC_EN_Q2: dict[str, Any] = {
    "referrals": 0,
    "eligibility": {"checked": 0, "eligible": 0, "rate": None},
    # 0, but with the stocks (3 -> 2) it would give the exits (1), and they the pension exit
    "enrolments": "suppressed",
    "declined": 0,
    "participants": "suppressed",  # 3 + enrolments
    # on 2025-06-30: P1 and P5 in job search (P4 left that day)
    "active": {"total": 2, "by_phase": ZERO_PHASES | {"stellensuche": 2}},
    "caseload": {"workers": 1, "mean": 2, "max": 2, "by_worker": {"cm-a": 2}},  # P5 handed over to cm-a
    "phase_days": {
        "clearing": {"n": 2, "median": 31.0, "p90": 31},  # P4 31, P5 31
        "stabilisierung": {"n": 2, "median": 67.5, "p90": 90},  # P1 45, P4 90
        "produktionswerkstatt": {"n": 1, "median": 45, "p90": 45},  # P1
    },
    "interruptions": "< 5",  # 1 (P1)
    "interventions": {
        "started": 2,
        # therapeutic (1) reveals health; debt counselling (1) does not, but is its complement
        "by_category": ZERO_CATEGORIES | {"therapeutic": "< 5", "debt-counselling": "suppressed"},
        "completed": 1,
        "aborted": 0,
    },
    "work_trials": {"started": 1, "completed": 1, "aborted": 0},
    # one exit (P4, disability pension): every other reason and the total are hidden with it
    # (a visible total, or visible zeros beside it, would pin it to 1)
    "exits": {
        "total": "suppressed",
        "by_reason": {r: "suppressed" for r in ZERO_EXITS}
        | {"transferred-to-rehabilitation": 0, "disability-pension": "< 5"},
    },
    "health_exits": {"total": "< 5", "by_reason": {"transferred-to-rehabilitation": 0, "disability-pension": "< 5"}},
    "integrations": {
        "total": 0,
        "by_type": ZERO_INTEGRATION_TYPES,
        "not_counted": 1,  # P5's mini-job
    },
    "integration_rate": "suppressed",  # 0 of the hidden participants
    "sustainability": {"6_months": {"verified": 1, "still_employed": 1, "rate": 1.0}, "12_months": NO_FOLLOW_UP},
    "subsidies": NO_SUBSIDIES,
    "rehab_applications": "< 5",
    "rehab_waiting": NO_REHAB_DECISIONS,  # P4's application is not decided
    "disability_pension_exits": "< 5",
}

JC_EN_Q3_INTEGRATIONS = {
    "total": 2,  # P1 (subsidised), P5 (social insurance); P5's mini-job was Q2
    "by_type": ZERO_INTEGRATION_TYPES | {"social-insurance": 1, "social-insurance-subsidised": 1},
    "not_counted": 0,
}
JC_EN_Q4_SUSTAINABILITY = {"6_months": NO_FOLLOW_UP, "12_months": {"verified": 1, "still_employed": 0, "rate": 0.0}}

# drv-westfalen's view of pro-aktiv: own P9 plus participants with active drv-exchange consent
DRV_Q1_ENROLMENTS_BY_GROUP = {("drv-westfalen", "pro-aktiv"): 1, ("jc-en", "pro-aktiv"): 1, ("jc-mk", "pro-aktiv"): 2}
DRV_Q1_REFERRALS = 4  # P9, P2, P7, P8 (a referral count is no health figure)
DRV_Q1_ENROLMENTS = 4
DRV_Q2_INTEGRATIONS_BY_GROUP = {
    ("drv-westfalen", "pro-aktiv"): 0,
    ("jc-en", "pro-aktiv"): 0,
    ("jc-mk", "pro-aktiv"): 1,
}  # P8 withdrew
JC_MK_Q2_INTEGRATIONS = {"total": 1, "not_counted": 1}  # P7 fully qualifying; P8's training does not count
