"""The data-protection officer's pages in the browser: the read log (intake's data-read audit
and casework's health-read audit in one list, filtered, a bad filter refused next to its
field) and the erasure (intake's command; refusals next to the field they name; afterwards
the person is gone from intake). axe-core on every page."""

from __future__ import annotations

import uuid
from datetime import date

from playwright.async_api import Browser, expect

from shared.vocabulary import Role
from tests.e2e.browser import accessible, german_page
from tests.e2e.conftest import Stack
from tests.e2e.test_placement import enrolled_with_open_case

READER = "cm-reader-1"


async def _read_identity_and_health(stack: Stack, pid: str) -> None:
    """A case manager reads the person (intake audits it) and the case's health records
    (casework audits it)."""
    cm = stack.token(Role.CASE_MANAGER, "jc-en", READER)
    assignment = {"case_manager": READER, "assigned_on": date.today().isoformat()}
    assigned = await stack.clients["casework"].post(f"/cases/{pid}/case-manager", json=assignment, headers=cm)
    assert assigned.status_code == 200, assigned.text
    person = await stack.clients["intake"].get(f"/participants/{pid}", headers=cm)
    assert person.status_code == 200, person.text
    health = await stack.clients["casework"].get(f"/cases/{pid}/health", headers=cm)
    assert health.status_code == 200, health.text


async def test_a_data_protection_officer_reads_the_read_log_and_erases_a_person(
    stack: Stack,
    portal: str,
    browser: Browser,
) -> None:
    pid = await enrolled_with_open_case(stack)
    await _read_identity_and_health(stack, pid)

    page = await german_page(browser, portal, "data-protection-officer")
    await page.get_by_role("link", name="Datenschutz").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Datenschutz")
    await expect(page.locator("#auskunft")).to_contain_text("Art. 15")
    await accessible(page, "30-datenschutz")

    # the read log: both services' audits, filtered by the person
    await page.get_by_role("link", name="Protokoll der Lesezugriffe öffnen").click()
    await page.get_by_label("Teilnehmendennummer").fill(pid)
    await page.get_by_role("button", name="Filtern").click()
    log = page.locator("#lesezugriffe")
    await expect(log).to_contain_text(READER)
    await expect(log).to_contain_text("Identität")
    await expect(log).to_contain_text("Gesundheitsakte")
    await expect(log.locator(".health")).not_to_have_count(0)
    await expect(log.locator("tbody tr").first).to_contain_text(str(date.today().year))
    await accessible(page, "31-lesezugriffe")
    await page.get_by_label("Teilnehmendennummer").fill("keine-nummer")  # the API's reason next to the field
    await page.get_by_role("button", name="Filtern").click()
    await expect(page.locator("#filter-participant_id-error")).to_be_visible()
    await expect(page.locator("#filter-participant_id")).to_have_attribute("aria-invalid", "true")

    # the erasure: not confirmed, an unknown person, then done, then again
    await page.goto(f"{portal}/datenschutz")
    await page.get_by_role("link", name="Zur Löschung").click()
    await accessible(page, "32-loeschung")
    await page.get_by_label("Teilnehmendennummer").fill(pid)
    await page.get_by_label("Rechtsgrundlage").fill("Art. 17 Abs. 1 lit. a DSGVO, Zweck entfallen")
    await page.get_by_role("button", name="Endgültig löschen").click()
    await expect(page.locator("#loeschung-confirmed-error")).to_contain_text("bestätigen")
    await page.get_by_label("Teilnehmendennummer").fill(str(uuid.uuid4()))
    await page.get_by_label("Ich habe geprüft").check()
    await page.get_by_role("button", name="Endgültig löschen").click()
    await expect(page.locator("#loeschung-participant_id-error")).to_be_visible()
    await page.get_by_label("Teilnehmendennummer").fill(pid)
    await page.get_by_label("Ich habe geprüft").check()
    await page.get_by_role("button", name="Endgültig löschen").click()
    await expect(page.locator("#geloescht")).to_contain_text(pid)
    await accessible(page, "33-geloescht")
    gone = await stack.clients["intake"].get(f"/participants/{pid}", headers=stack.token(Role.CASE_MANAGER, "jc-en"))
    assert gone.status_code == 404
    await page.get_by_label("Teilnehmendennummer").fill(pid)
    await page.get_by_label("Rechtsgrundlage").fill("Art. 17 DSGVO")
    await page.get_by_label("Ich habe geprüft").check()
    await page.get_by_role("button", name="Endgültig löschen").click()
    await expect(page.locator("#loeschung-participant_id-error")).to_contain_text("erased")


async def test_a_case_manager_gets_no_read_log_and_no_erasure(
    stack: Stack,
    portal: str,
    browser: Browser,
) -> None:
    page = await german_page(browser, portal, "case-manager")
    await expect(page.get_by_role("link", name="Datenschutz")).to_have_count(0)
    await page.goto(f"{portal}/datenschutz/lesezugriffe")
    await expect(page.get_by_role("status")).to_contain_text("sehen die Datenschutzbeauftragten")
    await page.goto(f"{portal}/datenschutz/loeschung")
    await expect(page.locator("main")).to_contain_text("Löschen dürfen nur die Datenschutzbeauftragten")
