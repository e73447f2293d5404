"""The one rule for a project's members (issue #15 item 1): the last configuration's agencies,
before the project's first configuration the closed list's; and the access rules fed by it."""

from __future__ import annotations

from datetime import date

import pytest

from services.casework.domain import projects
from services.intake import access as intake_access
from services.intake.domain import retention
from services.reporting import access as reporting_access
from shared.domain import DomainError, Forbidden
from shared.principal import Principal
from shared.vocabulary import PROJECTS, Role, memberships, project_members


def test_before_the_first_configuration_the_closed_list_holds() -> None:
    assert project_members("pro-aktiv", None) == PROJECTS["pro-aktiv"]
    assert project_members("no-such-project", None) == ()


def test_a_configuration_replaces_the_closed_list() -> None:
    assert project_members("pro-aktiv", ["jc-mk", "jc-unna"]) == ("jc-mk", "jc-unna")
    assert project_members("pluspunkt", ["jc-unna"]) == ("jc-unna",)


def test_memberships_cover_every_project_by_the_same_rule() -> None:
    found = memberships({"pluspunkt": ["jc-unna", "jc-mk"]})
    assert found == {"pro-aktiv": PROJECTS["pro-aktiv"], "pluspunkt": ("jc-unna", "jc-mk")}


def test_casework_members_follow_the_same_rule() -> None:
    assert projects.members(projects.Project(), "pro-aktiv") == PROJECTS["pro-aktiv"]
    configured = projects.Project(code="pro-aktiv", coordinating_agency="jc-mk", partner_agencies=("jc-unna",))
    assert projects.members(configured, "pro-aktiv") == ("jc-mk", "jc-unna")


def test_a_referrer_must_be_of_a_member_agency_as_configured() -> None:
    unna = Principal(subject="cm", agency="jc-unna", role=Role.CASE_MANAGER)
    with pytest.raises(Forbidden):
        intake_access.require_referrer(unna, "pro-aktiv", project_members("pro-aktiv", None))
    intake_access.require_referrer(unna, "pro-aktiv", project_members("pro-aktiv", ["jc-en", "jc-unna"]))


def test_a_project_retention_rule_is_for_the_configured_members() -> None:
    state = retention.Rules()
    day = date(2026, 2, 1)
    with pytest.raises(DomainError):
        retention.set_rule(state, "jc-unna", "pro-aktiv", "project-data", 4, "x", day)
    assert retention.set_rule(state, "jc-unna", "pro-aktiv", "project-data", 4, "x", day, configured=["jc-unna"])
    with pytest.raises(DomainError):
        retention.set_rule(state, "jc-en", "pro-aktiv", "project-data", 4, "x", day, configured=["jc-unna"])


def test_a_drv_carrier_sees_the_figures_of_its_configured_partners() -> None:
    drv = Principal(subject="lead", agency="drv-westfalen", role=Role.PROJECT_LEAD)
    reporting_access.check_filters(drv, "jc-mk", None, memberships({}))
    with pytest.raises(Forbidden):
        reporting_access.check_filters(drv, "jc-mk", None, memberships({"pro-aktiv": ["jc-en", "drv-westfalen"]}))
    reporting_access.check_filters(drv, "jc-unna", None, memberships({"pluspunkt": ["jc-unna", "drv-westfalen"]}))
