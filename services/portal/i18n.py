"""German first, English second: gettext catalogs (Babel) compiled in memory at start, and the
formats the staff expect (dates dd.mm.yyyy, amounts in EUR)."""

from __future__ import annotations

import io
from datetime import date, datetime
from gettext import NullTranslations
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT, LANGUAGES = "de", ("de", "en")
_BABEL_LOCALE = {"de": "de_DE", "en": "en_GB"}
BERLIN = ZoneInfo("Europe/Berlin")


def catalog(language: str) -> NullTranslations:
    """German is the source language (the msgids); others come from ``locale/<lang>/messages.po``,
    compiled here, so no build step can leave a stale ``.mo`` behind."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT or not po.exists():
        return NullTranslations()
    with po.open("rb") as f:
        messages = read_po(f, locale=language)
    buf = io.BytesIO()
    write_mo(buf, messages)
    buf.seek(0)
    return Translations(buf)


def language_of(requested: str | None) -> str:
    return requested if requested in LANGUAGES else DEFAULT


def fmt_date(value: object, language: str = DEFAULT) -> str:
    """``2026-03-09`` → ``09.03.2026`` (German), empty for nothing."""
    if not value:
        return ""
    day = value if isinstance(value, date) else _parse(str(value))
    if day is None:
        return str(value)
    return format_date(day, "dd.MM.yyyy" if language == "de" else "dd/MM/yyyy", locale=_BABEL_LOCALE[language])


def fmt_moment(value: object, language: str = DEFAULT) -> str:
    """``2026-03-09T12:05:00Z`` → ``09.03.2026, 13:05`` (German time, the staff's clock)."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(BERLIN)
    except ValueError:
        return str(value or "")
    pattern = "dd.MM.yyyy, HH:mm" if language == "de" else "dd/MM/yyyy, HH:mm"
    return format_datetime(moment, pattern, tzinfo=BERLIN, locale=_BABEL_LOCALE[language])


def fmt_number(value: object, language: str = DEFAULT) -> str:
    """``25.0`` → ``25``, ``12.5`` → ``12,5`` (German)."""
    try:
        return format_decimal(float(str(value)), locale=_BABEL_LOCALE[language])
    except ValueError:
        return str(value or "")


def fmt_eur(value: object, language: str = DEFAULT) -> str:
    """``1200`` → ``1.200,00 €`` (German)."""
    if value is None or value == "":
        return ""
    return format_currency(float(str(value)), "EUR", locale=_BABEL_LOCALE[language])


def _parse(text: str) -> date | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date() if "T" in text else date.fromisoformat(text)
    except ValueError:
        return None
