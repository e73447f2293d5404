"""The portal in a real browser (Debian's headless Chromium driven by Playwright): a case
manager's day from the referral to an intervention, a financial adviser who sees no health
item, English as the second language, and axe-core (WCAG 2.1 A/AA) on every main page.
Screenshots of the main pages go to ``.local/screenshots/`` (``PORTAL_SCREENSHOTS`` elsewhere)."""

from __future__ import annotations

import asyncio

from playwright.async_api import Browser, expect

from shared.vocabulary import Role
from tests import support
from tests.e2e.browser import GERMAN_PAK, accessible, german_page, login
from tests.e2e.conftest import Stack
from tests.e2e.test_placement import EMPLOYER, NIGHT_SHIFT, WAREHOUSE, enrolled_with_open_case, share_profile


async def test_a_case_managers_day_in_the_browser(stack: Stack, portal: str, browser: Browser) -> None:
    page = await (await browser.new_context(locale="de-DE")).new_page()
    await page.goto(f"{portal}/arbeitsplatz")
    await expect(page).to_have_url(f"{portal}/anmelden")  # not logged in: to the login
    await accessible(page, "01-anmelden")
    await login(page, portal, "case-manager")

    # Zuweisung
    await page.get_by_role("link", name="Neue Zuweisung").click()
    await accessible(page, "02-zuweisung")
    await page.get_by_label("Vorname").fill("Birgit")
    await page.get_by_label("Nachname").fill("Lehmann")
    await page.get_by_label("Geburtsdatum").fill("1979-08-11")
    await page.get_by_label("Anschrift").fill("Hauptstr. 5, 58452 Witten")
    await page.get_by_label("Zuweisungsgrund").fill("rezidivierende depressive Störung")
    await page.get_by_role("button", name="Zuweisung speichern").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Birgit Lehmann")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("zugewiesen")
    pid = page.url.rsplit("/", 1)[1]

    # Informationsgespräch, Eignung, Einwilligung, Eintritt: each page after the command shows its result
    await page.get_by_role("button", name="Gespräch speichern").click()
    await expect(page.locator(".facts dt:has-text('Informationsgespräch') + dd")).not_to_have_text("noch nicht")
    await page.get_by_label("Die Teilnahme ist freiwillig").check()
    await page.get_by_label("Bereit, vermittlungsrelevante Beeinträchtigungen anzugehen").check()
    await page.get_by_role("button", name="Eignung prüfen").click()
    await expect(page.locator(".facts")).to_contain_text("geeignet")
    enrol = page.get_by_role("button", name="Eintritt erfassen")
    await enrol.click()  # no consent yet: the service's refusal shows on the form
    await expect(page.locator("#eintritt .error")).to_contain_text("consent")
    await page.locator("#einwilligung-expires_on").fill("2030-01-31")
    await page.get_by_role("button", name="Einwilligung speichern").click()
    consents = page.locator("#einwilligungen-liste")
    await expect(consents).to_contain_text("Teilnahme")
    await expect(consents).to_contain_text("wirksam")
    await expect(consents).to_contain_text("31.01.2030")
    await accessible(page, "03-teilnehmende")
    await page.get_by_role("button", name="Eintritt erfassen").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("eingetreten")

    # the case opens in casework (through Kafka): the page waits for it
    await page.get_by_role("link", name="Zum Fall (Fallmanagement)").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Einstieg", timeout=30_000)
    await page.get_by_role("button", name="Ich übernehme das Fallmanagement").click()
    await expect(page.locator(".facts")).to_contain_text("demo-case-manager-jc-en")

    # a skip without a reason: the API's error next to the reason field
    await page.locator("#phase-phase").select_option("stabilisierung")
    await page.get_by_role("button", name="Phase wechseln").click()
    reason_error = page.locator("#phase-reason-error")
    await expect(reason_error).to_contain_text("reason")
    await expect(page.locator("#phase-reason")).to_have_attribute("aria-invalid", "true")
    await page.locator("#phase-phase").select_option("clearing")
    await page.get_by_role("button", name="Phase wechseln").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Clearing")

    # an intervention (health data: marked) and a confidential note
    await page.locator("#massnahme-category").select_option("therapeutic")
    await page.get_by_label("Träger").fill("Praxis Hagen")
    await page.get_by_label("Geplante Kosten in EUR").fill("1.200,50")
    await page.get_by_role("button", name="Maßnahme speichern").click()
    interventions = page.locator("#massnahmen")
    await expect(interventions).to_contain_text("Praxis Hagen")
    await expect(interventions).to_contain_text("1.200,50 €")
    await expect(interventions.locator(".health")).to_have_count(1)
    await page.locator("#vermerk-text").fill("Klinikaufenthalt geplant")
    await page.get_by_label("Vertraulich (Gesundheitsdaten: nur mit Gesundheitsrecht lesbar)").check()
    await page.get_by_role("button", name="Vermerk speichern").click()
    await expect(page.locator("#vermerke")).to_contain_text("Klinikaufenthalt geplant")
    await accessible(page, "04-fall")
    await page.goto(f"{portal}/arbeitsplatz")
    await expect(page.locator("#faelle")).to_contain_text("(1)")
    await accessible(page, "05-arbeitsplatz")
    await page.goto(f"{portal}/vermittlung/{pid}")  # not in the candidate pool before Stellensuche
    await expect(page.get_by_role("status")).to_contain_text("nicht im Bewerberpool")

    # English through the catalog
    await page.get_by_role("link", name="English").click()  # back to the same page, in English
    await expect(page.get_by_role("heading", level=1)).to_have_text("Placement")
    await page.goto(f"{portal}/arbeitsplatz")
    await expect(page.get_by_role("heading", level=1)).to_have_text("My workspace")
    await page.goto(f"{portal}/faelle/{pid}")
    await expect(page.locator("#massnahmen")).to_contain_text("€1,200.50")
    await accessible(page, "06-case-english")
    await page.get_by_role("link", name="Deutsch").click()
    await page.get_by_role("button", name="Abmelden").click()

    # a financial adviser of the agency: the case without any health item
    await login(page, portal, "financial-adviser")
    await page.goto(f"{portal}/faelle/{pid}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Clearing")
    body = page.locator("main")
    await expect(body).not_to_contain_text("Gesundheitsdaten")
    await expect(body).not_to_contain_text("Praxis Hagen")
    await expect(body).not_to_contain_text("Klinikaufenthalt")
    await expect(page.locator(".health")).to_have_count(0)
    await accessible(page, "07-fall-ohne-gesundheitsrecht")
    await page.get_by_role("button", name="Abmelden").click()

    # a project lead reads the figures: reporting's dashboard inside the portal's page
    await login(page, portal, "project-lead")
    await page.get_by_role("link", name="Berichte").click()
    figures = page.frame_locator("iframe.dashboard")
    await expect(figures.locator("svg").first).to_be_visible()
    # in German, from reporting's figures (GET /kpis), laid out by the portal
    await expect(figures.locator("html")).to_have_attribute("lang", "de")
    await expect(figures.locator("#trichter")).to_contain_text("Eintritte")
    await expect(figures.locator("#quartal")).to_contain_text("Kennzahlen im Quartal")
    await expect(figures.locator("#quartal")).to_contain_text("Aktive Teilnehmende")
    await expect(figures.locator("body")).not_to_contain_text("Referrals")
    await accessible(page, "08-berichte")


async def test_a_placement_officer_proposes_trials_and_places_in_the_browser(
    stack: Stack, portal: str, browser: Browser
) -> None:
    placement = stack.clients["placement"]
    officer = stack.token(Role.EMPLOYER_ACQUISITION, "jc-en", "demo-employer-acquisition-officer-jc-en")
    pid = await enrolled_with_open_case(stack)
    employer = (await placement.post("/employers", json=EMPLOYER, headers=officer)).json()["employer_id"]
    for vacancy in (WAREHOUSE, NIGHT_SHIFT):
        assert (
            await placement.post("/vacancies", json=vacancy | {"employer_id": employer}, headers=officer)
        ).is_success
    await share_profile(stack, pid)
    await support.eventually(
        lambda: placement.get(f"/candidates/{pid}/vacancies", headers=officer),
        lambda r: r.status_code == 200 and len(r.json()["vacancies"]) == 2,
    )

    page = await german_page(browser, portal, "employer-acquisition-officer")
    await page.goto(f"{portal}/vermittlung/{pid}")
    cards = page.locator("article.card")
    await expect(cards).to_have_count(2)
    await expect(cards.nth(1)).to_contain_text("ausgeschlossen")  # night work: the reason per criterion
    await expect(cards.nth(1)).to_contain_text("night work: required but not possible")
    await accessible(page, "09-vermittlung")

    history = page.locator("#bisher")
    await cards.nth(0).get_by_role("button", name="Vorschlagen").click()
    await expect(history).to_contain_text("Vorschlag vom")
    await page.locator("article.card").nth(0).get_by_role("button", name="Arbeitserprobung beginnen").click()
    await expect(history).to_contain_text("Arbeitserprobung ab")
    await page.locator("article.card").nth(0).get_by_role("button", name="Arbeitsaufnahme erfassen").click()
    await expect(history).to_contain_text("Beschäftigung ab")
    await expect(history).to_contain_text("sozialversicherungspflichtig")
    await accessible(page, "10-vermittlung-beschaeftigt")


async def test_date_inputs_are_german_day_month_year(browser: Browser) -> None:
    """Typed digits fill TT.MM.JJJJ in that order: the browser formats dates in German
    (``--lang=de-DE`` and the German language pack; without it, mm/dd/yyyy)."""
    assert await asyncio.to_thread(GERMAN_PAK.exists), (
        "chromium-l10n is missing: apt-get install chromium-l10n (see .ci/run)"
    )
    page = await (await browser.new_context(locale="de-DE")).new_page()
    await page.set_content('<label for="d">Datum</label><input type="date" id="d">')
    await page.locator("#d").focus()  # the first segment: the day in German, the month in English
    await page.keyboard.type("09032026")
    await expect(page.locator("#d")).to_have_value("2026-03-09")
