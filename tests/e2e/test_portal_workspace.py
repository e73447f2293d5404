"""The portal's newer pages in a real browser (issue 16): a case manager searches a person by
name through intake (audited: the data-protection officer finds the search in the read log) and
sees her caseload against the project's cap; the data-protection officer's navigation leads to
subject access; a project lead reads a period's figures, the integration rate, declined
enrolments, health exits and wage subsidies, and the project's targets and budget, in German,
with withheld cells marked for screen readers. axe-core and a screenshot on each page."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, expect

from shared.vocabulary import Role
from tests import support
from tests.e2e.browser import accessible, german_page
from tests.e2e.conftest import Stack
from tests.e2e.test_project import PLAN, assign, case_opened, configure, intervention, ok
from tests.e2e.test_project import figures as project_figures
from tests.e2e.test_slice import refer_and_enrol

DEMO_CM = "demo-case-manager-jc-en"


async def guided_case(stack: Stack, cap: int) -> str:
    """The project configured with ``cap``, Anna Beispiel enrolled and her case guided by the
    demo case manager."""
    await ok(await configure(stack, {**PLAN, "caseload_cap": cap}, stack.token(Role.ADMINISTRATOR, "jc-en", "admin")))
    pid = await refer_and_enrol(stack)
    await case_opened(stack, pid)
    cm = stack.token(Role.CASE_MANAGER, "jc-en", DEMO_CM)
    await ok(await assign(stack, pid, DEMO_CM, cm))
    await support.eventually(
        lambda: stack.clients["casework"].get("/caseload", headers=cm), lambda r: r.json().get("count") == 1
    )
    return pid


async def test_a_case_manager_finds_a_person_by_name_and_sees_her_caseload_against_the_cap(
    stack: Stack, portal: str, browser: Browser
) -> None:
    pid = await guided_case(stack, cap=2)
    page = await german_page(browser, portal, "case-manager")
    caps = page.locator("table.caps tbody tr")
    await expect(caps).to_have_count(1)
    await expect(caps.first.locator("td")).to_have_text(["pro-aktiv", "1", "2", "1"])
    await accessible(page, "50-arbeitsplatz-obergrenze")

    await page.get_by_role("navigation").get_by_role("link", name="Suche").click()
    box = page.get_by_label("Name oder Teilnehmendennummer")
    await box.fill(" ,;")  # no word of a name, no number: intake's refusal next to the field
    await page.get_by_role("button", name="Suchen").click()
    await expect(page.locator("#suche-q-error")).to_be_visible()
    await expect(box).to_have_attribute("aria-invalid", "true")
    await box.fill("beispiel ANNA")
    await page.get_by_role("button", name="Suchen").click()
    hits = page.locator("#treffer + table tbody tr")
    await expect(hits).to_have_count(1)
    await expect(hits.first).to_contain_text("Beispiel, Anna")
    await expect(hits.first).to_contain_text("17.05.1984")
    await expect(hits.first).to_contain_text("eingetreten")
    await accessible(page, "51-suche")
    await box.fill("Niemand")
    await page.get_by_role("button", name="Suchen").click()
    await expect(page.locator("main")).to_contain_text("Keine Teilnehmenden gefunden.")
    await box.fill(pid)  # the number finds the person too
    await page.get_by_role("button", name="Suchen").click()
    await page.get_by_role("link", name="Beispiel, Anna", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Anna Beispiel")

    # the data-protection officer: subject access in the navigation, the search in the read log
    dpo = await german_page(browser, portal, "data-protection-officer")
    await dpo.get_by_role("link", name="Auskunft (Art. 15)").click()
    await expect(dpo).to_have_url(f"{portal}/auskunft")
    await expect(dpo.get_by_role("link", name="Auskunft (Art. 15)")).to_have_attribute("aria-current", "page")
    await accessible(dpo, "52-auskunft-navigation")
    await dpo.goto(f"{portal}/datenschutz/lesezugriffe?participant_id={pid}&subject={DEMO_CM}")
    await expect(dpo.locator("main table")).to_contain_text("Suchtreffer (Name, Geburtsdatum)")
    cm = await german_page(browser, portal, "case-manager")
    await expect(cm.get_by_role("link", name="Auskunft (Art. 15)")).to_have_count(0)


async def kpis(stack: Stack, period: str) -> dict[str, Any]:
    r = await stack.clients["reporting"].get(
        "/kpis", params={"period": period}, headers=stack.token(Role.PROJECT_LEAD, "jc-en")
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_a_project_lead_reads_a_periods_figures_and_the_projects_targets_and_budget(
    stack: Stack, portal: str, browser: Browser
) -> None:
    pid = await guided_case(stack, cap=5)
    done = {"completed_on": "2026-05-15", "cost_eur": 1500}
    await intervention(stack, pid, DEMO_CM, "employment-promotion", 1200, done)
    cm = stack.token(Role.CASE_MANAGER, "jc-en", DEMO_CM)
    interruption = {"interrupted_on": "2026-04-10", "reason": "Klinikaufenthalt"}
    await ok(await stack.clients["casework"].post(f"/cases/{pid}/interruption", json=interruption, headers=cm))
    await support.eventually(
        lambda: kpis(stack, "2026-Q1..2026-Q2"), lambda d: d.get("range", {}).get("total", {}).get("interruptions")
    )
    # the enrolment shown under the targets comes from intake's topic, the interruption from
    # casework's: wait for it too
    lead = stack.token(Role.PROJECT_LEAD, "jc-en")
    await support.eventually(
        lambda: project_figures(stack, "targets", lead),
        lambda r: r.status_code == 200 and r.json()["participants"]["enrolled"] == 1,
    )

    page = await german_page(browser, portal, "project-lead")
    await page.get_by_role("navigation").get_by_role("link", name="Berichte").click()
    await page.get_by_label("Zeitraum", exact=True).fill("2026-Q1..2026-Q2")
    await page.get_by_role("button", name="Anzeigen").click()
    frame = page.frame_locator("iframe.dashboard")
    period = frame.locator("#zeitraum")
    await expect(period).to_contain_text("Kennzahlen im Zeitraum Q1/2026 bis Q2/2026")
    for row in ("Integrationsquote (K2 je Teilnehmende)", "Abgelehnte Eintritte",
                "Austritte aus gesundheitlichen Gründen", "davon § 16e SGB II", "davon § 16i SGB II"):  # fmt: skip
        await expect(period.locator("tbody th", has_text=row)).to_have_count(1)
    interrupted = period.locator("tr", has=frame.locator("th", has_text="Unterbrechungen")).locator("td").last
    await expect(interrupted.locator(".small-cell")).to_have_text("< 5")
    withheld = "weniger als 5, zum Schutz der Teilnehmenden nicht genannt"
    await expect(interrupted.locator(".sr-only")).to_have_text(withheld)
    plan = frame.locator("#plan-pro-aktiv")
    await expect(plan).to_contain_text("Ziele und Budget")
    await expect(plan.locator("tr", has_text="Ziel (Teilnehmende)")).to_contain_text("10")
    await expect(plan.locator("tr", has_text="Eingetreten")).to_contain_text("1 (10 %)")
    await expect(plan.locator("tr", has_text="Beschäftigungsförderung")).to_contain_text("20.000,00 €")
    await expect(plan.locator("tr", has_text="Beschäftigungsförderung").locator(".sr-only")).to_have_text(
        "verborgen, damit keine kleine Zahl errechnet werden kann"
    )  # one person's spend is withheld
    await expect(plan.locator("tr", has_text="Therapie")).to_contain_text("10.000,00 €")
    await accessible(page, "53-berichte-zeitraum")
    figures = await page.context.new_page()  # the framed document on its own: every section in one screenshot
    await figures.goto(f"{portal}/berichte/dashboard?period=2026-Q1..2026-Q2")
    await expect(figures.locator("#plan-pro-aktiv")).to_be_visible()
    await accessible(figures, "54-kennzahlen-zeitraum")

    await page.get_by_label("Zeitraum", exact=True).fill("2026-Q9")
    await page.get_by_role("button", name="Anzeigen").click()
    await expect(frame.locator("[role=alert]")).to_contain_text("Dieser Zeitraum geht nicht")
