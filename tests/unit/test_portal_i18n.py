"""The portal's languages: German formats, and an English translation for every German string."""

from __future__ import annotations

from datetime import date

from babel.messages.pofile import read_po

from services.portal import forms, i18n, views
from services.portal.catalog import PO


def test_dates_and_amounts_as_the_staff_write_them() -> None:
    assert i18n.fmt_date("2026-03-09") == "09.03.2026"
    assert i18n.fmt_date(date(2030, 1, 31)) == "31.01.2030"
    assert i18n.fmt_date("2026-12-01T10:43:16.941099Z") == "01.12.2026"
    assert i18n.fmt_date(None) == ""
    assert i18n.fmt_eur(1200.5) == "1.200,50\xa0€"
    assert i18n.fmt_eur(1200.5, "en") == "€1,200.50"


def test_every_german_string_has_its_english_translation() -> None:
    with PO.open("rb") as f:
        catalog = read_po(f, locale="en")
    untranslated = [m.id for m in catalog if m.id and not m.string]
    assert untranslated == []
    assert i18n.catalog("en").gettext("Mein Arbeitsplatz") == "My workspace"
    assert i18n.catalog("de").gettext("Mein Arbeitsplatz") == "Mein Arbeitsplatz"


def test_a_form_becomes_the_commands_body() -> None:
    body = forms.body_of(
        forms.CASE_ACTIONS["massnahme"],
        {"category": "therapeutic", "provider": "Praxis", "planned_start": "2026-03-01", "cost_eur": "1.200,50"},
    )
    assert body == {"category": "therapeutic", "provider": "Praxis", "planned_start": "2026-03-01", "cost_eur": 1200.5}
    referral = forms.body_of(forms.REFERRAL, {"identity.first_name": "Anna", "project": "pro-aktiv"})
    assert referral == {"project": "pro-aktiv", "identity": {"first_name": "Anna"}}
    checked = forms.body_of(forms.INTAKE_ACTIONS["eignung"], {"voluntary": "on"})
    assert checked["voluntary"] is True
    assert checked["willing_to_address_impairments"] is False


def test_the_phase_moves_offered_follow_casework_rules() -> None:
    moves = {t.phase: t for t in views.transitions({"status": "open", "phase": "clearing"})}
    assert set(moves) == {"einstieg", "stabilisierung", "produktionswerkstatt", "stellensuche"}
    assert not moves["stabilisierung"].needs_reason
    assert moves["stellensuche"].needs_reason
    assert moves["einstieg"].needs_reason
    job = views.transitions({"status": "open", "phase": "stellensuche", "expected_next_phase": "nachbetreuung"})
    assert "nachbetreuung" in {t.phase for t in job}
    assert views.transitions({"status": "interrupted", "phase": "clearing"}) == []
    assert views.reason_text("Field required") == "Pflichtfeld: bitte ausfüllen."
