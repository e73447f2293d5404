"""The case page's newer commands in a real browser (issue 16): employment found without
placement (record, the 6-month follow-up from Mein Arbeitsplatz, the end) and the transfer of a
case to a partner agency of its project (refused by date and by consent, then done: the sender
reads the history up to it, the receiver runs the case), a rehab application through the DRV
adviser's work queue (receipt, request and the case manager's answer, decision, the stay), and
the Produktionswerkstatt (a participant's days on an order: anwesend, entschuldigt,
unentschuldigt, hours), in German, with the API's refusal next to its field. axe-core and a
screenshot on each page."""

from __future__ import annotations

from uuid import UUID

from playwright.async_api import Browser, expect

from shared.vocabulary import Role
from tests import support
from tests.e2e.browser import accessible, german_page
from tests.e2e.conftest import Stack
from tests.e2e.test_placement import EMPLOYER
from tests.e2e.test_portal_workspace import DEMO_CM, guided_case
from tests.e2e.test_project import assign, ok
from tests.e2e.test_slice import refer_and_enrol

MK_CM = "demo-case-manager-jc-mk"


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


async def drv_exchange_known(stack: Stack, pid: str) -> bool:
    """Casework has learnt the participant's drv-exchange consent from intake's topic."""
    row = await stack.runtime("casework").pool.fetchval(
        "SELECT count(*) FROM consents WHERE participant_id = $1 AND purpose = 'drv-exchange'", UUID(pid)
    )
    return bool(row)


async def test_a_case_manager_transfers_a_case_to_a_partner_agency_of_the_project(
    stack: Stack, portal: str, browser: Browser
) -> None:
    pid = await refer_and_enrol(stack, "jc-mk")
    mara = stack.token(Role.CASE_MANAGER, "jc-mk", MK_CM)
    await support.eventually(
        lambda: stack.clients["casework"].get(f"/cases/{pid}", headers=mara), lambda r: r.status_code == 200
    )
    await ok(await assign(stack, pid, MK_CM, mara))
    page = await german_page(browser, portal, "case-manager", "jc-mk")
    await page.goto(f"{portal}/faelle/{pid}")
    form = page.locator("#uebergabe")
    await expect(form.get_by_label("Aufnehmende Behörde").locator("option")).to_have_text(
        ["Jobcenter Ennepe-Ruhr-Kreis", "DRV Westfalen"]
    )  # the project's other agencies, not Unna
    await form.get_by_label("Aufnehmendes Fallmanagement").fill(DEMO_CM)
    await form.get_by_label("Übergabe am").fill("2026-01-02")  # before the case opened
    await form.get_by_label("Grund der Übergabe").fill("Umzug nach Witten")
    await page.get_by_role("button", name="Fall übergeben").click()
    await expect(page.locator("#uebergabe-transferred_on-error")).to_be_visible()
    await expect(page.locator("#uebergabe-transferred_on")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#uebergabe-reason")).to_have_value("Umzug nach Witten")
    await page.locator("#uebergabe-transferred_on").fill("2026-05-12")
    await page.get_by_role("button", name="Fall übergeben").click()
    # no consent to exchange data with EN: the refusal on the form as a whole
    await expect(page.locator("#uebergabe [role=alert]")).to_contain_text("drv-exchange")
    await accessible(page, "63-fall-uebergeben-ohne-einwilligung")

    consent = {"purpose": "drv-exchange", "scope": "jc-en", "granted_on": "2026-05-01", "form": "written"}
    await ok(await stack.clients["intake"].post(f"/participants/{pid}/consents", json=consent, headers=mara), 201)
    await support.eventually(lambda: drv_exchange_known(stack, pid), bool)
    await page.get_by_role("button", name="Fall übergeben").click()
    notice = page.locator("#uebergeben")
    await expect(notice).to_contain_text("am 12.05.2026 an Jobcenter Ennepe-Ruhr-Kreis übergeben")
    await expect(page.locator("#verlauf li").first).to_contain_text("Fall an eine Partnerbehörde übergeben")
    await expect(page.locator("#uebergabe, #phase, #massnahme, #beschaeftigung")).to_have_count(0)
    await accessible(page, "64-fall-uebergeben-absender")

    en = await german_page(browser, portal, "case-manager", "jc-en")
    await en.goto(f"{portal}/faelle/{pid}")
    facts = en.locator(".facts")
    await expect(facts).to_contain_text("Jobcenter Ennepe-Ruhr-Kreis")
    await expect(facts).to_contain_text(DEMO_CM)
    await expect(en.locator("#uebergeben")).to_have_count(0)
    onward = en.locator("#uebergabe-to_agency option")
    await expect(onward).to_have_text(["Jobcenter Märkischer Kreis", "DRV Westfalen"])
    await accessible(en, "65-fall-uebergeben-empfaenger")


async def test_a_rehab_application_goes_through_the_drv_advisers_work_queue(
    stack: Stack, portal: str, browser: Browser
) -> None:
    pid = await guided_case(stack, cap=5)
    cm = stack.token(Role.CASE_MANAGER, "jc-en", DEMO_CM)
    consent = {"purpose": "drv-exchange", "scope": "drv-westfalen", "granted_on": "2026-03-20", "form": "written"}
    await ok(await stack.clients["intake"].post(f"/participants/{pid}/consents", json=consent, headers=cm), 201)
    profile = {"recorded_on": "2026-03-25", "profile": support.PROFILE.model_dump(mode="json")}
    await ok(await stack.clients["casework"].post(f"/cases/{pid}/capacity-profile", json=profile, headers=cm), 201)
    await support.eventually(lambda: drv_exchange_known(stack, pid), bool)

    # the case manager files the application on the case page
    page = await german_page(browser, portal, "case-manager")
    await page.goto(f"{portal}/faelle/{pid}")
    await page.locator("#reha-antrag-filed_on").fill("2026-11-20")
    await page.locator("#reha-antrag-kind").select_option("medical")
    await page.get_by_role("button", name="Reha-Antrag speichern").click()
    filed = page.locator("#reha-antraege li")
    await expect(filed).to_contain_text("20.11.2026: medizinische Rehabilitation")
    await expect(filed).to_contain_text("DRV Westfalen")

    # DRV's adviser: the queue, the application, receipt (refused before the filing), a request
    drv = await german_page(browser, portal, "drv-adviser", "drv-westfalen")
    await drv.get_by_role("navigation").get_by_role("link", name="Reha-Arbeitsvorrat").click()
    rows = drv.locator("#reha-antraege tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first.locator("td").nth(1)).to_have_text("medizinische Rehabilitation")
    await expect(rows.first.locator("td").nth(2)).to_have_text("gestellt")
    await expect(rows.first.locator("td").nth(3)).to_have_text("20.11.2026")
    await accessible(drv, "66-reha-arbeitsvorrat")
    await rows.first.get_by_role("link", name="Antrag öffnen").click()
    await expect(drv.locator("#h-profil + dl")).to_contain_text("bis 30 Stunden je Woche")
    await drv.locator("#eingang-received_on").fill("2026-11-19")
    await drv.get_by_role("button", name="Eingang speichern").click()
    await expect(drv.locator("#eingang-received_on-error")).to_be_visible()
    await expect(drv.locator("#eingang-received_on")).to_have_attribute("aria-invalid", "true")
    await drv.locator("#eingang-received_on").fill("2026-11-24")
    await drv.get_by_role("button", name="Eingang speichern").click()
    await expect(drv.locator("#antrag")).to_contain_text("beim Träger eingegangen")
    await drv.get_by_label("Was wird benötigt?").fill("Bitte den Entlassungsbericht der Klinik nachreichen.")
    await drv.get_by_role("button", name="Rückfrage senden").click()
    await expect(drv.locator("#rueckfragen")).to_contain_text("noch offen")
    await accessible(drv, "67-reha-antrag-rueckfrage")

    # the case manager answers the request on the case page
    await page.goto(f"{portal}/faelle/{pid}")
    answer = page.locator("#reha-antwort")
    await expect(answer).to_contain_text("Entlassungsbericht")
    await answer.locator("#reha-antwort-answer").fill("Der Bericht liegt bei.")
    await page.get_by_role("button", name="Antwort senden").click()
    await expect(page.locator("#reha-antwort")).to_have_count(0)
    await expect(page.locator("#reha-antraege")).to_contain_text("Rückfrage beantwortet")
    await accessible(page, "68-fall-reha-antrag")

    # DRV reads the answer, records the decision, then the stay: the case is interrupted and resumed
    await drv.reload()
    await expect(drv.locator("#rueckfragen")).to_contain_text("Der Bericht liegt bei.")
    await drv.get_by_label("Bewilligt").check()
    await drv.get_by_role("button", name="Bescheid speichern").click()
    await expect(drv.locator("#entschieden")).to_be_visible()
    await drv.get_by_label("Klinik oder Träger der Maßnahme").fill("Klinik Nord, Witten")
    await drv.get_by_role("button", name="Beginn speichern").click()
    await expect(drv.locator("#massnahmebeginn .error")).to_have_count(0)
    await page.goto(f"{portal}/faelle/{pid}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("unterbrochen")
    await expect(page.locator("#reha-antraege")).to_contain_text("Reha-Maßnahme begonnen")
    await drv.get_by_role("button", name="Ende speichern").click()
    await expect(drv.locator("#massnahmeende .error")).to_have_count(0)
    await page.goto(f"{portal}/faelle/{pid}")
    await expect(page.locator("#reha-antraege")).to_contain_text("Reha-Maßnahme beendet")
    await expect(page.get_by_role("heading", level=1)).not_to_contain_text("unterbrochen")
    await accessible(drv, "69-reha-antrag-massnahme")


async def enrolled_in_placement(stack: Stack, pid: str) -> bool:
    """Placement's workshop projection has the participant's enrolment (from intake's topic)."""
    row = await stack.runtime("placement").pool.fetchval(
        "SELECT count(*) FROM workshop_enrolled WHERE participant_id = $1", UUID(pid)
    )
    return bool(row)


async def test_the_produktionswerkstatt_records_a_participants_days_on_an_order(
    stack: Stack, portal: str, browser: Browser
) -> None:
    officer = stack.token(Role.EMPLOYER_ACQUISITION, "jc-en", "demo-employer-acquisition-officer-jc-en")
    placement = stack.clients["placement"]
    employer_id = (await ok(await placement.post("/employers", json=EMPLOYER, headers=officer), 201))["employer_id"]
    order = {"employer_id": employer_id, "description": "Kartons falten", "quantity": 500, "accepted_on": "2026-11-02"}
    await ok(await placement.post("/production-orders", json=order, headers=officer), 201)
    pid = await refer_and_enrol(stack)
    await support.eventually(lambda: enrolled_in_placement(stack, pid), bool)

    page = await german_page(browser, portal, "employer-acquisition-officer")
    await page.get_by_role("navigation").get_by_role("link", name="Produktionswerkstatt").click()
    await expect(page.locator("#auftraege tbody tr")).to_have_count(1)
    cells = ["Kartons falten", str(EMPLOYER["company"]), "500", "02.11.2026"]
    await expect(page.locator("#auftraege tbody tr td")).to_have_text(cells)
    await accessible(page, "70-produktionswerkstatt")
    await page.get_by_role("link", name="Kartons falten").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Produktionsauftrag: Kartons falten")

    join = page.locator("#teilnahme")
    await join.get_by_label("Teilnehmendennummer").fill("00000000-0000-7000-8000-000000000000")
    await join.get_by_label("Erster Tag am Auftrag").fill("2026-11-23")
    await page.get_by_role("button", name="Aufnehmen").click()
    await expect(page.locator("#teilnahme [role=alert]")).to_be_visible()  # placement: no such participant
    await page.locator("#teilnahme-participant_id").fill(pid)
    await page.get_by_role("button", name="Aufnehmen").click()
    await expect(page.locator("#teilnehmende h3")).to_have_count(1)

    days = page.locator("#anwesenheit")
    for on, attendance, hours in (("2026-11-24", "present", "5,5"), ("2026-11-25", "absent", "3")):
        await days.locator("#anwesenheit-worked_on").fill(on)
        await days.get_by_label("Anwesenheit").select_option(attendance)
        await days.get_by_label("Stunden").fill(hours)
        await page.get_by_role("button", name="Tag speichern").click()
    # absent with hours: placement's 422 next to the hours, the day kept
    await expect(page.locator("#anwesenheit-hours-error")).to_be_visible()
    await expect(page.locator("#anwesenheit-hours")).to_have_attribute("aria-invalid", "true")
    await page.locator("#anwesenheit-hours").fill("0")
    await page.get_by_role("button", name="Tag speichern").click()
    await expect(page.locator("table.days tbody tr")).to_have_count(2)
    await page.locator("#anwesenheit-worked_on").fill("2026-11-26")
    await page.locator("#anwesenheit-attendance").select_option("excused")
    await page.get_by_role("button", name="Tag speichern").click()
    rows = page.locator("table.days tbody tr")
    await expect(rows).to_have_count(3)
    await expect(rows.locator("td:nth-child(2)")).to_have_text(["anwesend", "unentschuldigt", "entschuldigt"])
    summary = page.locator("#teilnehmende .summary")
    await expect(summary).to_contain_text("5,5 Stunden; Tage anwesend: 1, entschuldigt: 1, unentschuldigt: 1")
    await expect(page.locator("main")).not_to_contain_text("Sanktion")
    await accessible(page, "71-produktionsauftrag-anwesenheit")

    await page.locator("#abmeldung-released_on").fill("2026-11-27")
    await page.get_by_role("button", name="Abmeldung speichern").click()
    await expect(page.locator("#teilnehmende h3")).to_contain_text("abgemeldet am 27.11.2026")
    await expect(page.locator("#anwesenheit")).to_have_count(0)
