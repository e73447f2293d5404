"""The case page's newer commands in a real browser (issue 16): employment found without
placement (record, the 6-month follow-up from Mein Arbeitsplatz, the end), in German, with the
API's refusal next to its field. axe-core and a screenshot on each page."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.e2e.browser import accessible, german_page
from tests.e2e.conftest import Stack
from tests.e2e.test_portal_workspace import guided_case


async def test_a_case_manager_records_a_self_found_job_its_follow_up_and_its_end(
    stack: Stack, portal: str, browser: Browser
) -> None:
    pid = await guided_case(stack, cap=5)
    page = await german_page(browser, portal, "case-manager")
    await page.goto(f"{portal}/faelle/{pid}")
    jobs = page.locator("#beschaeftigungen")
    await expect(jobs).to_contain_text("Keine Beschäftigung ohne Vermittlung erfasst.")

    form = page.locator("#beschaeftigung")
    await form.get_by_label("Beginn").fill("2026-05-20")
    await form.get_by_label("Art der Beschäftigung").select_option("mini-job")
    await form.get_by_label("Lohnkostenzuschuss").select_option("16e")
    await form.get_by_label("Stunden je Woche").fill("30")
    await page.get_by_role("button", name="Beschäftigung speichern").click()
    # a wage subsidy on a mini-job: casework's 422 next to the field, the input kept
    await expect(page.locator("#beschaeftigung-subsidy-error")).to_be_visible()
    await expect(page.locator("#beschaeftigung-subsidy")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#beschaeftigung-started_on")).to_have_value("2026-05-20")
    await page.locator("#beschaeftigung-type").select_option("social-insurance")
    await page.get_by_role("button", name="Beschäftigung speichern").click()
    row = jobs.locator("tbody tr")
    await expect(row).to_have_count(1)
    cells = ["sozialversicherungspflichtig", "§ 16e SGB II", "30", "20.05.2026", "läuft"]
    await expect(row.locator("td:not(:last-child)")).to_have_text(cells)
    await expect(row.locator(".follow-ups li")).to_have_text(
        ["6 Monate: fällig am 20.11.2026", "12 Monate: fällig am 20.05.2027"]
    )
    await expect(page.locator("#verlauf")).to_contain_text("Beschäftigung ohne Vermittlung erfasst")
    await accessible(page, "60-fall-beschaeftigung-ohne-vermittlung")

    # the follow-up is due (overdue today): a task on Mein Arbeitsplatz, in German
    await page.get_by_role("navigation").get_by_role("link", name="Mein Arbeitsplatz").click()
    task = page.locator("ul.tasks li", has_text="Nachhaltung der Beschäftigung fällig")
    await expect(task).to_contain_text("6 Monate nach Beginn")
    await expect(task).to_contain_text("20.11.2026")
    await accessible(page, "61-arbeitsplatz-nachhaltung")
    await task.get_by_role("link", name="Fall öffnen").click()

    await page.locator("#nachhaltung-verified_on").fill("2026-11-24")
    await page.get_by_role("button", name="Nachhaltung speichern").click()
    await expect(row.locator(".follow-ups li").first).to_have_text("6 Monate: erfasst")
    await page.get_by_role("navigation").get_by_role("link", name="Mein Arbeitsplatz").click()
    await expect(page.locator("ul.tasks li", has_text="Nachhaltung der Beschäftigung fällig")).to_have_count(0)

    await page.goto(f"{portal}/faelle/{pid}")
    end = page.locator("#beschaeftigungsende")
    await end.get_by_label("Letzter Arbeitstag").fill("2026-11-27")
    await end.get_by_label("Grund").select_option("fixed-term-ended")
    await page.get_by_role("button", name="Ende speichern").click()
    await expect(row.locator("td").nth(4)).to_have_text("27.11.2026")
    await expect(page.locator("#verlauf")).to_contain_text("Beschäftigung beendet")
    await accessible(page, "62-fall-beschaeftigung-beendet")
