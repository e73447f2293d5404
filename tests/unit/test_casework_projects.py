"""The project aggregate (configuration set by events) and the caseload cap, on the in-memory
unit of work (the handlers' fixtures of test_casework_handlers)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.casework import domain
from services.casework.commands import AssignCaseManager, BudgetItem, ConfigureProject, HandOverCase
from shared.contracts.casework import BudgetLine, CaseManagerAssigned, ProjectConfigured
from shared.domain import DomainError, Forbidden, InvalidTransition
from shared.principal import Principal
from shared.vocabulary import Role
from tests.unit.test_casework_handlers import CM, D, World, ctx

ADMIN_EN = Principal("admin-en", Role.ADMINISTRATOR, "jc-en")
ADMIN_MK = Principal("admin-mk", Role.ADMINISTRATOR, "jc-mk")
LEAD = Principal("lead-lena", Role.PROJECT_LEAD, "jc-en")

PLAN = domain.Plan(
    coordinating_agency="jc-en",
    partner_agencies=("jc-mk", "drv-westfalen"),
    starts_on=date(2019, 1, 1),
    ends_on=date(2026, 12, 31),
    participant_target=984,
    budget=(BudgetLine(year=2026, category="therapeutic", amount_eur=100_000),),
    caseload_cap=50,
    info_meeting_required=True,
)


def configuration(**changes: Any) -> ConfigureProject:
    body: dict[str, Any] = {
        "project": "pro-aktiv",
        "coordinating_agency": "jc-en",
        "partner_agencies": ["jc-mk", "drv-westfalen"],
        "starts_on": date(2019, 1, 1),
        "ends_on": date(2026, 12, 31),
        "participant_target": 984,
        "budget": [BudgetItem(year=2026, category="therapeutic", amount_eur=100_000)],
        "caseload_cap": 2,
        "configured_on": D,
    }
    return ConfigureProject(**(body | changes))


def test_before_any_event_a_project_has_no_cap_target_or_budget() -> None:
    state = domain.project.fold([])
    assert not state.configured
    assert (state.caseload_cap, state.participant_target, state.budget) == (None, None, ())
    assert domain.coordinator(state, "pro-aktiv") == "jc-en"  # who may configure it first
    assert domain.check_cap(state, "pro-aktiv", "cm-anna", 500, override=False) is None


def test_a_configuration_replaces_the_one_before() -> None:
    (first,) = domain.configure(domain.project.fold([]), "pro-aktiv", PLAN, D)
    state = domain.project.fold([first])
    assert isinstance(first, ProjectConfigured)
    assert (state.caseload_cap, state.participant_target, state.partner_agencies) == (
        50,
        984,
        ("jc-mk", "drv-westfalen"),
    )
    (second,) = domain.configure(state, "pro-aktiv", PLAN.__class__(**(PLAN.__dict__ | {"caseload_cap": None})), D)
    assert domain.project.fold([first, second]).caseload_cap is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"coordinating_agency": "jc-nowhere"}, "coordinating_agency"),
        ({"partner_agencies": ("jc-mk", "jc-x")}, "partner_agencies.1"),
        ({"partner_agencies": ("jc-en",)}, "partner_agencies"),
        ({"ends_on": date(2018, 1, 1)}, "ends_on"),
        ({"budget": (BudgetLine(year=2030, category="other", amount_eur=1),)}, "budget.0.year"),
        ({"budget": (BudgetLine(year=2026, category="parties", amount_eur=1),)}, "budget.0.category"),
        ({"budget": (BudgetLine(year=2026, category="other", amount_eur=1),) * 2}, "budget.1"),
    ],
)
def test_a_bad_configuration_names_the_field(changes: dict[str, Any], field: str) -> None:
    plan = domain.Plan(**(PLAN.__dict__ | changes))
    with pytest.raises(DomainError) as refused:
        domain.configure(domain.project.fold([]), "pro-aktiv", plan, D)
    assert refused.value.field == field


def test_an_unknown_project_code_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        domain.configure(domain.project.fold([]), "nowhere", PLAN, D)
    assert refused.value.field == "project"


def test_the_cap_rule_with_and_without_override() -> None:
    (e,) = domain.configure(domain.project.fold([]), "pro-aktiv", PLAN, D)
    state = domain.project.fold([e])
    assert domain.check_cap(state, "pro-aktiv", "cm-anna", 49, override=False) is None
    with pytest.raises(InvalidTransition, match="caseload cap is 50"):
        domain.check_cap(state, "pro-aktiv", "cm-anna", 50, override=False)
    assert domain.check_cap(state, "pro-aktiv", "cm-anna", 50, override=True) == domain.CapOverride(50, 50)


async def test_only_the_coordinating_agencys_administrator_configures() -> None:
    w = World()
    with pytest.raises(Forbidden):
        await w.bus.handle(configuration(), ctx(ADMIN_MK))
    with pytest.raises(Forbidden):
        await w.bus.handle(configuration(), ctx(LEAD))
    r = await w.bus.handle(configuration(), ctx(ADMIN_EN))
    assert r.body == {"project": "pro-aktiv", "version": 1, "events": ["ProjectConfigured"]}
    # handing coordination to MK: from then on MK's administrator configures it, EN's no longer
    await w.bus.handle(configuration(coordinating_agency="jc-mk", partner_agencies=["jc-en"]), ctx(ADMIN_EN))
    with pytest.raises(Forbidden, match="coordinating agency jc-mk"):
        await w.bus.handle(configuration(), ctx(ADMIN_EN))
    await w.bus.handle(configuration(), ctx(ADMIN_MK))


async def test_assigning_beyond_the_cap_is_refused_unless_the_lead_overrides() -> None:
    w = World()
    await w.bus.handle(configuration(caseload_cap=2), ctx(ADMIN_EN))
    w.caseloads.active[("pro-aktiv", "cm-anna")] = 2
    pid = await w.open_case()
    assign = AssignCaseManager(participant_id=pid, case_manager="cm-anna", assigned_on=D)
    with pytest.raises(InvalidTransition, match="caseload cap is 2") as refused:
        await w.bus.handle(assign, ctx(CM))
    assert refused.value.field == "case_manager"
    with_reason = assign.model_copy(update={"cap_override_reason": "continuity: she knew him before"})
    with pytest.raises(Forbidden, match="only the project lead"):
        await w.bus.handle(with_reason, ctx(CM))
    assert "CaseManagerAssigned" not in w.events(pid)  # nothing half-written

    await w.bus.handle(with_reason, ctx(LEAD))
    (assigned,) = [e for e in w.store.streams[domain.stream_id(pid)] if e.event_type == "CaseManagerAssigned"]
    recorded = CaseManagerAssigned.model_validate(assigned.payload)
    assert (recorded.caseload_cap, recorded.caseload, recorded.overridden_by) == (2, 2, "lead-lena")
    assert recorded.sealed_override_reason == "sealed:continuity: she knew him before"


async def test_under_the_cap_nothing_is_overridden_and_hand_over_is_held_to_it() -> None:
    w = World()
    await w.bus.handle(configuration(caseload_cap=2), ctx(ADMIN_EN))
    w.caseloads.active[("pro-aktiv", "cm-anna")] = 1
    w.caseloads.active[("pro-aktiv", "cm-ben")] = 2
    pid = await w.open_case()
    await w.bus.handle(AssignCaseManager(participant_id=pid, case_manager="cm-anna", assigned_on=D), ctx(CM))
    (assigned,) = [e for e in w.store.streams[domain.stream_id(pid)] if e.event_type == "CaseManagerAssigned"]
    assert CaseManagerAssigned.model_validate(assigned.payload).caseload_cap is None
    hand = HandOverCase(participant_id=pid, to_case_manager="cm-ben", handed_over_on=D)
    with pytest.raises(InvalidTransition, match="cm-ben already has 2 active cases"):
        await w.bus.handle(hand, ctx(CM))
    await w.bus.handle(hand.model_copy(update={"cap_override_reason": "Anna leaves"}), ctx(LEAD))
    assert w.events(pid)[-2:] == ["CaseHandedOver", "CaseManagerAssigned"]
