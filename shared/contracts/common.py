"""Value types used by more than one service's contracts."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.values import Name, Text


class ConsentPurpose(StrEnum):
    """Consent is given per purpose (§ 67b SGB X, Art. 7 and 9 GDPR)."""

    PARTICIPATION = "participation"
    DRV_EXCHANGE = "drv-exchange"
    MEDICAL_RELEASE = "medical-release"
    MONITORING = "monitoring"
    EMPLOYER_DISCLOSURE = "employer-disclosure"


class Phase(StrEnum):
    """The rehapro journey, in order."""

    EINSTIEG = "einstieg"
    CLEARING = "clearing"
    STABILISIERUNG = "stabilisierung"
    PRODUKTIONSWERKSTATT = "produktionswerkstatt"
    STELLENSUCHE = "stellensuche"
    NACHBETREUUNG = "nachbetreuung"


PHASE_ORDER: tuple[Phase, ...] = tuple(Phase)


class ExitReason(StrEnum):
    REGULAR_END = "regular-end"
    INTEGRATED = "integrated-into-work"
    DROPPED_OUT = "dropped-out"
    MOVED_AWAY = "moved-away"
    BENEFITS_ENDED = "benefits-ended"
    TRANSFERRED_TO_REHAB = "transferred-to-rehabilitation"
    DISABILITY_PENSION = "disability-pension"  # EM-Rente: health data, aggregates only
    CONSENT_WITHDRAWN = "consent-withdrawn"  # participation consent withdrawn: casework exits the case itself
    OTHER = "other"


class InterventionCategory(StrEnum):
    DIAGNOSTIC = "diagnostic"
    THERAPEUTIC = "therapeutic"
    REHABILITATIVE = "rehabilitative"
    EMPLOYMENT_PROMOTION = "employment-promotion"
    DEBT_COUNSELLING = "debt-counselling"  # § 16a SGB II
    ADDICTION_COUNSELLING = "addiction-counselling"  # § 16a SGB II
    PSYCHOSOCIAL_COUNSELLING = "psychosocial-counselling"  # § 16a SGB II


class EmploymentType(StrEnum):
    SOCIAL_INSURANCE = "social-insurance"  # sozialversicherungspflichtig
    MINI_JOB = "mini-job"
    VOCATIONAL_TRAINING = "vocational-training"
    SELF_EMPLOYMENT = "self-employment"


class Level(StrEnum):
    NONE = "none"
    LIGHT = "light"
    MODERATE = "moderate"
    HEAVY = "heavy"


class CapacityProfile(BaseModel):
    """What the person can do at work (the BA medical service's split): no diagnoses, ever.

    This is the only health-derived data that may leave casework, and only to placement while
    ``employer-disclosure`` consent is active.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_hours_per_week: int = Field(ge=0, le=60)
    lifting: Level = Field(description="heaviest lifting the person can do")
    standing: Level = Level.MODERATE
    shift_work: bool = False
    night_work: bool = False
    mental_load: Level = Field(description="highest mental load / time pressure that is fine")
    customer_contact: bool = True
    adaptations: list[Annotated[Name, Field(max_length=300)]] = Field(
        default_factory=list, max_length=30, description="workplace adaptations needed"
    )
    notes: Text = Field(default="", max_length=1000, description="work-related remarks only, no diagnoses")
