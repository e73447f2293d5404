"""Jinja2 pages in the user's language: one environment per language with its gettext catalog,
and the formats (dates dd.mm.yyyy, EUR) and staff words as filters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.portal import forms, i18n, views, vocabulary
from shared.vocabulary import AGENCIES

TEMPLATES = Path(__file__).parent / "templates"


class Renderer:
    def __init__(self, clock: Callable[[], date] = date.today) -> None:
        self.clock = clock
        self.envs = {language: self._env(language) for language in i18n.LANGUAGES}

    def _env(self, language: str) -> Environment:
        env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.install_gettext_translations(i18n.catalog(language), newstyle=True)  # type: ignore[attr-defined]
        env.filters["datum"] = lambda v: i18n.fmt_date(v, language)
        env.filters["zeit"] = lambda v: i18n.fmt_moment(v, language)
        env.filters["zahl"] = lambda v: i18n.fmt_number(v, language)
        env.filters["eur"] = lambda v: i18n.fmt_eur(v, language)
        env.filters["reason"] = views.reason_text
        env.globals.update(
            typed=forms.typed,
            lang=language,
            AGENCIES=AGENCIES,
            PHASES=vocabulary.PHASES,
            STATUSES=vocabulary.STATUSES,
            PURPOSES=vocabulary.PURPOSES,
            FORMS=vocabulary.FORMS,
            CATEGORIES=vocabulary.CATEGORIES,
            BUDGET=vocabulary.BUDGET,
            ROLES=vocabulary.ROLES,
            SEXES=vocabulary.SEXES,
            EVENTS=vocabulary.EVENTS,
            TASKS=vocabulary.TASKS,
            EMPLOYMENT_TYPES=vocabulary.EMPLOYMENT_TYPES,
            SUBSIDIES=vocabulary.SUBSIDIES,
            REHAB_KINDS=vocabulary.REHAB_KINDS,
            ATTENDANCE=vocabulary.ATTENDANCE,
            REHAB_STATES=vocabulary.REHAB_STATES,
            EMPLOYMENT_END_REASONS=vocabulary.EMPLOYMENT_END_REASONS,
            PLACEMENT_STATES=vocabulary.PLACEMENT_STATES,
            CRITERIA=vocabulary.CRITERIA,
            VERDICTS=vocabulary.VERDICTS,
            READS=vocabulary.READS,
            SIZES=vocabulary.SIZES,
            CHANNELS=vocabulary.CHANNELS,
            LEVELS=vocabulary.LEVELS,
            VACANCY_STATES=vocabulary.VACANCY_STATES,
            CLOSE_REASONS=vocabulary.CLOSE_REASONS,
        )
        return env

    def page(self, request: Request, template: str, status: int = 200, **data: Any) -> HTMLResponse:
        language = i18n.language_of(request.cookies.get("rp_lang"))
        context = (
            {"errors": {}, "values": {}, "failed": None, "page": None, "user": None}
            | data
            | {"request": request, "path": request.url.path, "today": self.clock().isoformat()}
        )
        html = self.envs[language].get_template(template).render(context)
        return HTMLResponse(html, status_code=status)
