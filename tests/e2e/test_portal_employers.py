"""Employer acquisition in the browser: an employer-acquisition officer records an employer
(refused without the contact person's name, next to that field), a vacancy (refused with hours
that are no number, next to the field), a contact, and closes the vacancy (refused with a day
in the future, next to that vacancy's field); placement's API decides, the pages show it.
axe-core on every page."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.e2e.browser import accessible, german_page, login
from tests.e2e.conftest import Stack


async def test_an_acquisition_officer_records_an_employer_a_vacancy_a_contact_and_closes_the_vacancy(
    stack: Stack,
    portal: str,
    browser: Browser,
) -> None:
    page = await german_page(browser, portal, "employer-acquisition-officer")
    await page.get_by_role("link", name="Arbeitgeber", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Arbeitgeber")
    await expect(page.locator("main")).to_contain_text("Noch keine Arbeitgeber erfasst.")

    await page.get_by_label("Unternehmen").fill("Hagener Metallbau GmbH")
    await page.get_by_label("Branche").fill("Metall")
    await page.get_by_label("Region").fill("Hagen")
    await page.get_by_label("Bietet Arbeitserprobungen an").check()
    await page.get_by_label("Funktion").fill("Personal")  # a contact person without a name
    await page.get_by_role("button", name="Arbeitgeber speichern").click()
    name_error = page.locator("#arbeitgeber-contact_persons-0-name-error")
    await expect(name_error).to_contain_text("Pflichtfeld")
    await expect(page.locator("#arbeitgeber-contact_persons-0-name")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Unternehmen")).to_have_value("Hagener Metallbau GmbH")  # kept
    await accessible(page, "40-arbeitgeber-fehler")
    await page.get_by_label("Name der Ansprechperson").fill("Petra Lindner")
    await page.get_by_role("button", name="Arbeitgeber speichern").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hagener Metallbau GmbH")
    await expect(page.locator("#ansprechpersonen")).to_contain_text("Petra Lindner, Personal")

    # a vacancy: hours that are no number come back next to the field
    await page.get_by_label("Bezeichnung der Stelle").fill("Lagerhelfer/in Kommissionierung")
    await page.get_by_label("Stunden je Woche").fill("viele")
    await page.locator("#stelle-demands-lifting").select_option("light")
    await page.get_by_label("Mögliche Anpassungen").fill("höhenverstellbarer Tisch, Pausenraum")
    await page.get_by_role("button", name="Stelle speichern").click()
    await expect(page.locator("#stelle-hours_per_week-error")).to_contain_text("Zahl")
    await page.get_by_label("Stunden je Woche").fill("25")
    await page.get_by_role("button", name="Stelle speichern").click()
    vacancies = page.locator("#stellen")
    await expect(vacancies).to_contain_text("Lagerhelfer/in Kommissionierung (offen)")
    await expect(vacancies).to_contain_text("Heben und Tragen: leicht")
    await expect(vacancies).to_contain_text("25 Std./Woche")
    await expect(vacancies).to_contain_text("Mögliche Anpassungen: höhenverstellbarer Tisch, Pausenraum")

    # a contact
    await page.get_by_label("Thema").fill("Bedarf an Lagerkräften")
    await page.get_by_label("Notizen (verschlüsselt)").fill("Rückruf im Mai")
    await page.get_by_role("button", name="Kontakt speichern").click()
    await expect(page.locator("#kontakte")).to_contain_text("Telefon: Bedarf an Lagerkräften (Rückruf im Mai)")
    await accessible(page, "41-arbeitgeber")

    # close the vacancy: a day in the future is refused next to that vacancy's field
    await page.locator("#schliessen-1-closed_on").fill("2099-01-01")
    await page.get_by_role("button", name="Stelle schließen").click()
    await expect(page.locator("#schliessen-1-closed_on-error")).to_be_visible()
    await page.locator("#schliessen-1-closed_on").fill(await page.locator("#stelle-recorded_on").input_value())
    await page.get_by_role("button", name="Stelle schließen").click()
    await expect(vacancies).to_contain_text("Lagerhelfer/in Kommissionierung (geschlossen)")
    await expect(page.get_by_role("button", name="Stelle schließen")).to_have_count(0)

    await page.get_by_role("link", name="Alle Arbeitgeber").click()
    row = page.locator("#arbeitgeber-liste tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Hagener Metallbau GmbH")
    await accessible(page, "42-arbeitgeber-liste")


async def test_a_case_manager_sees_employers_but_records_none(
    stack: Stack,
    portal: str,
    browser: Browser,
) -> None:
    page = await german_page(browser, portal, "case-manager")
    await page.goto(f"{portal}/arbeitgeber")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Arbeitgeber")
    await expect(page.get_by_role("button", name="Arbeitgeber speichern")).to_have_count(0)
    await login(page, portal, "financial-adviser")
    await page.goto(f"{portal}/arbeitgeber")
    await expect(page.get_by_role("status")).to_contain_text("Die Arbeitgeber sehen")
