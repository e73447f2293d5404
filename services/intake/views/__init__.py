"""Intake's reads, by topic: participants (register, detail, consents, monitoring identities),
search, subject access, the staff directory, retention."""

from __future__ import annotations

from services.intake.views.participants import (
    IdentityRequest,
    RegisterDueConsents,
    Status,
    UnitOfWorkFactory,
    audit_read,
    connection,
    consents,
    consents_view,
    data_reads,
    monitoring_identities,
    participant_detail,
    register,
)
from services.intake.views.retention import (
    RetentionRecords,
    retention_rules,
    upcoming_deletions,
)
from services.intake.views.search import (
    search,
)
from services.intake.views.staff import (
    RegisterProjectRules,
    staff_detail,
    staff_list,
)
from services.intake.views.subject_access import (
    subject_access,
)

__all__ = [
    "IdentityRequest",
    "RegisterDueConsents",
    "RegisterProjectRules",
    "RetentionRecords",
    "Status",
    "UnitOfWorkFactory",
    "audit_read",
    "connection",
    "consents",
    "consents_view",
    "data_reads",
    "monitoring_identities",
    "participant_detail",
    "register",
    "retention_rules",
    "search",
    "staff_detail",
    "staff_list",
    "subject_access",
    "upcoming_deletions",
]
