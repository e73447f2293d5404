"""Placement's read side over its projections, one module per topic; access checks via
``access``. ``Reads`` carries the ports (pool, streams, key store)."""

from services.placement.views.candidates import (
    drv_exchange_active,
    get_candidate,
    list_candidates,
    rank_vacancies_for_candidate,
    visible_candidates,
)
from services.placement.views.daily import (
    due_follow_ups,
    follow_ups_due,
    list_employments,
    list_proposals,
    list_work_trials,
    today_board,
)
from services.placement.views.employers import (
    get_employer,
    get_vacancy,
    list_contacts,
    list_employers,
    list_orders,
    list_vacancies,
    rank_candidates_for_vacancy,
)
from services.placement.views.ranking import PostgresVacancyOffers
from services.placement.views.reads import PostgresProjects, Reads
from services.placement.views.subject_access import subject_access
from services.placement.views.workshop import PostgresEnrolments, order_participants, participant_orders

__all__ = [
    "PostgresEnrolments",
    "PostgresProjects",
    "PostgresVacancyOffers",
    "Reads",
    "drv_exchange_active",
    "due_follow_ups",
    "follow_ups_due",
    "get_candidate",
    "get_employer",
    "get_vacancy",
    "list_candidates",
    "list_contacts",
    "list_employers",
    "list_employments",
    "list_orders",
    "list_proposals",
    "list_vacancies",
    "list_work_trials",
    "order_participants",
    "participant_orders",
    "rank_candidates_for_vacancy",
    "rank_vacancies_for_candidate",
    "subject_access",
    "today_board",
    "visible_candidates",
]
