"""The case aggregate (pure): state and evolve in ``state``, the commands by topic.

One case per participant: the case's id is the participant's id. The contracts keep
``case_id`` (recorded events are never edited), but it always equals ``participant_id``.
"""

from __future__ import annotations

from services.casework.domain.contacts import (
    add_note,
    log_contact,
    record_attendance,
    schedule_appointment,
)
from services.casework.domain.goals import (
    abort_intervention,
    achieve_goal,
    complete_intervention,
    drop_goal,
    plan_intervention,
    revise_goal,
    set_goal,
    start_intervention,
    update_plan,
)
from services.casework.domain.health import (
    Release,
    complete_assessment,
    decide_rehab_application,
    file_rehab_application,
    receive_medical_report,
    reconcile_sharing,
    record_capacity_profile,
    release_for,
)
from services.casework.domain.lifecycle import (
    add_team_member,
    assign_case_manager,
    end_on_withdrawal,
    enter_phase,
    erase_case,
    exit_case,
    hand_over,
    interrupt,
    open_case,
    record_employment,
    record_employment_end,
    remove_team_member,
    resume,
)
from services.casework.domain.state import (
    TEAM_ROLES,
    Case,
    Intervention,
    InterventionStatus,
    Member,
    Status,
    case,
    evolve,
    require_known,
    stream_id,
)

__all__ = [
    "TEAM_ROLES",
    "Case",
    "Intervention",
    "InterventionStatus",
    "Member",
    "Release",
    "Status",
    "abort_intervention",
    "achieve_goal",
    "add_note",
    "add_team_member",
    "assign_case_manager",
    "case",
    "complete_assessment",
    "complete_intervention",
    "decide_rehab_application",
    "drop_goal",
    "end_on_withdrawal",
    "enter_phase",
    "erase_case",
    "evolve",
    "exit_case",
    "file_rehab_application",
    "hand_over",
    "interrupt",
    "log_contact",
    "open_case",
    "plan_intervention",
    "receive_medical_report",
    "reconcile_sharing",
    "record_attendance",
    "record_capacity_profile",
    "record_employment",
    "record_employment_end",
    "release_for",
    "remove_team_member",
    "require_known",
    "resume",
    "revise_goal",
    "schedule_appointment",
    "set_goal",
    "start_intervention",
    "stream_id",
    "update_plan",
]
