"""The portal's routes: pages (GET) and form posts (POST → the service's command → 303 back to
the page, carrying the command's consistency token so the next page shows its result). Thin:
what a page shows comes from ``views``, how a form becomes a command from ``forms``. The pages of
one person (intake, case, placement) are ``SCREENS``: each gets the same page and command route."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode, urlparse
from uuid import UUID

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.portal import auth, figures, forms, oidc, views, vocabulary
from services.portal.auth import User
from services.portal.clients import Backends, Reply
from services.portal.rendering import Renderer
from services.portal.settings import PortalSettings
from services.portal.vocabulary import N_
from shared.domain import DomainError
from shared.vocabulary import AGENCIES, PROJECTS

CONSISTENCY_COOKIE = "rp_consistency"
LANGUAGE_COOKIE = "rp_lang"

router = APIRouter()


def _settings(request: Request) -> PortalSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _backends(request: Request) -> Backends:
    return request.app.state.backends  # type: ignore[no-any-return]


def _renderer(request: Request) -> Renderer:
    return request.app.state.renderer  # type: ignore[no-any-return]


def _user(request: Request, settings: Annotated[PortalSettings, Depends(_settings)]) -> User:
    return auth.current_user(request, settings)


Settings = Annotated[PortalSettings, Depends(_settings)]
Services = Annotated[Backends, Depends(_backends)]
Render = Annotated[Renderer, Depends(_renderer)]
CurrentUser = Annotated[User, Depends(_user)]


def _consistency(request: Request) -> str | None:
    """The consistency token of the user's last command (set on the redirect after it)."""
    return request.cookies.get(CONSISTENCY_COOKIE) or None


def _after_command(url: str, reply: Reply) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if reply.token:
        response.set_cookie(CONSISTENCY_COOKIE, reply.token, max_age=60, httponly=True, samesite="strict")
    return response


def _page(render: Renderer, request: Request, template: str, status: int = 200, **data: Any) -> HTMLResponse:
    response = render.page(request, template, status=status, **data)
    response.delete_cookie(CONSISTENCY_COOKIE)  # used once: the next page reads without waiting
    return response


@router.get("/", include_in_schema=False)
async def home() -> RedirectResponse:
    return RedirectResponse("/arbeitsplatz", status_code=303)


@router.get("/anmelden", response_class=HTMLResponse)
async def login_page(request: Request, render: Render, settings: Settings) -> HTMLResponse:
    return _login_page(request, render, settings)


@router.post("/anmelden")
async def dev_login(request: Request, render: Render, settings: Settings) -> Response:
    """Development login (``make up``): a demo user of the chosen agency and role."""
    form = await request.form()
    values = {k: str(v) for k, v in form.items()}
    if not settings.dev_login:
        return _login_page(request, render, settings, status=403)
    try:
        token = auth.dev_token(settings, values.get("role", ""), values.get("agency", ""))
    except DomainError as exc:
        return _login_page(request, render, settings, status=422, errors={exc.field or "_": exc.message}, values=values)
    response = RedirectResponse("/arbeitsplatz", status_code=303)
    auth.start_session(response, settings, token)
    return response


def _oidc(request: Request) -> oidc.OidcClient | None:
    return getattr(request.app.state, "oidc", None)


def _login_page(
    request: Request, render: Renderer, settings: PortalSettings, status: int = 200, **data: Any
) -> HTMLResponse:
    return render.page(
        request, "login.html", status=status, settings=settings, agencies=AGENCIES, roles=auth.STAFF_ROLES, **data
    )


@router.get("/anmelden/oidc")
async def oidc_login(request: Request, render: Render, settings: Settings) -> Response:
    """Off to the agency's provider, with a fresh state, nonce and PKCE challenge kept in a
    cookie (SameSite=lax: the provider sends the browser back with a top-level GET)."""
    client = _oidc(request)
    if client is None:
        return RedirectResponse("/anmelden", status_code=303)
    flow = oidc.Flow.new()
    try:
        url = await client.authorize_url(flow)
    except (oidc.LoginFailed, httpx.HTTPError):
        return _login_page(
            request, render, settings, status=502, oidc_error=N_("Der Anmeldedienst der Behörde ist nicht erreichbar.")
        )
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        oidc.FLOW_COOKIE, flow.cookie(), max_age=oidc.FLOW_TTL_S, httponly=True, samesite="lax",
        secure=settings.cookie_secure, path="/anmelden/oidc",
    )  # fmt: skip
    return response


@router.get("/anmelden/oidc/callback")
async def oidc_callback(
    request: Request, render: Render, settings: Settings, code: str = "", state: str = "", error: str = ""
) -> Response:
    """Back from the provider: the state must be ours, the code buys the tokens, the ID token
    must verify and the services must trust the access token. The session cookie is strict, so
    the browser follows on from our own page (a redirect chain from another site would not send it)."""
    client = _oidc(request)
    flow = oidc.Flow.of_cookie(request.cookies.get(oidc.FLOW_COOKIE))
    try:
        if client is None or flow is None or error or not code or not secrets.compare_digest(state, flow.state):
            raise oidc.LoginFailed(error or "state")
        tokens = await client.exchange(code, flow)
        auth.check_token(settings, tokens.access_token)
    except (oidc.LoginFailed, DomainError, httpx.HTTPError):
        response = _login_page(
            request,
            render,
            settings,
            status=401,
            oidc_error=N_("Die Anmeldung ist fehlgeschlagen. Bitte versuchen Sie es erneut."),
        )
    else:
        response = render.page(request, "signed_in.html", settings=settings)
        auth.start_session(response, settings, tokens.access_token, ttl=tokens.expires_in)
        response.set_cookie(
            auth.ID_TOKEN_COOKIE, tokens.id_token, max_age=min(tokens.expires_in, auth.SESSION_TTL_S),
            httponly=True, samesite="strict", secure=settings.cookie_secure,
        )  # fmt: skip
    response.delete_cookie(oidc.FLOW_COOKIE, path="/anmelden/oidc")
    return response


@router.post("/abmelden")
async def logout(request: Request) -> RedirectResponse:
    """The session ends here and, after an OpenID login, at the provider too."""
    client = _oidc(request)
    id_token = request.cookies.get(auth.ID_TOKEN_COOKIE)
    back = str(request.url_for("login_page"))
    target = await client.logout_url(id_token, back) if client and id_token else None
    response = RedirectResponse(target or "/anmelden", status_code=303)
    auth.end_session(response)
    return response


@router.get("/sprache/{language}")
async def choose_language(language: str, request: Request) -> RedirectResponse:
    back = request.headers.get("referer") or "/arbeitsplatz"
    response = RedirectResponse(urlparse(back).path or "/arbeitsplatz", status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, language if language in ("de", "en") else "de", max_age=365 * 86400)
    return response


@router.get("/arbeitsplatz", response_class=HTMLResponse)
async def workspace(request: Request, user: CurrentUser, services: Services, render: Render) -> HTMLResponse:
    page = await views.workspace(services, user, _consistency(request))
    return _page(render, request, "workspace.html", user=user, page=page)


@router.get("/suche")
async def search(
    request: Request, user: CurrentUser, services: Services, render: Render, q: str = "", nummer: str = ""
) -> Response:
    """Search by name or Teilnehmendennummer through intake (audited there); ``nummer`` goes
    straight to the person, as before."""
    if nummer:
        pid = views.participant_number(nummer)
        if pid is not None:
            return RedirectResponse(f"/teilnehmende/{pid}", status_code=303)
        errors = {"q": N_("Bitte eine vollständige Teilnehmendennummer eingeben.")}
        return _page(render, request, "search.html", status=422, user=user, q=nummer, errors=errors)
    if not q.strip():
        return _page(render, request, "search.html", user=user, q=q)
    page = await views.search(services, user, q, _consistency(request))
    status = 422 if page.data["errors"] else _status(page)
    return _page(render, request, "search.html", status=status, user=user, q=q, page=page, errors=page.data["errors"])


@router.get("/zuweisung", response_class=HTMLResponse)
async def referral_form(request: Request, user: CurrentUser, render: Render) -> HTMLResponse:
    return render.page(request, "referral.html", user=user, projects=PROJECTS, agencies=AGENCIES, values={})


@router.post("/zuweisung")
async def referral(request: Request, user: CurrentUser, services: Services, render: Render) -> Response:
    values = await _form(request)
    reply = await services.call("intake", "POST", "/referrals", user.token, json=forms.body_of(forms.REFERRAL, values))
    if not reply.ok:
        return render.page(
            request, "referral.html", status=reply.status, user=user, projects=PROJECTS, agencies=AGENCIES,
            values=values, errors=_field_errors(reply, forms.REFERRAL),
        )  # fmt: skip
    return _after_command(f"/teilnehmende/{reply.body['participant_id']}", reply)


@router.get("/berichte/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, user: CurrentUser, services: Services, render: Render) -> HTMLResponse:
    """The figures in German: reporting's KPI JSON (``GET /kpis``, the user's token, the
    page's filters passed on) laid out by the portal's own page, framed by ``/berichte``."""
    params = {k: v for k in ("period", "agency", "project") if (v := request.query_params.get(k))}
    reply = await services.call("reporting", "GET", "/kpis", user.token, params=params)
    model = figures.dashboard(reply.body, vocabulary.PHASES) if reply.ok else None
    status = reply.status if reply.status in (200, 403, 422) else 502
    plans = await views.project_plans(services, user, params.get("project")) if reply.ok else []
    period_error = reply.errors().get("period") if status == 422 else None
    return render.page(
        request, "dashboard.html", status=status, user=user, d=model, refused=reply.status == 403, NONE=figures.NONE,
        plans=plans, period_error=period_error, mark=figures.mark,
    )  # fmt: skip


@router.get("/berichte", response_class=HTMLResponse)
async def reports(request: Request, user: CurrentUser, render: Render, period: str = "") -> HTMLResponse:
    """The figures page: a period (a quarter, a year or a run of quarters) chosen here frames the
    dashboard for it."""
    query = urlencode({"period": period.strip()}) if period.strip() else ""
    return render.page(
        request, "reports.html", user=user, may=user.role in views.FIGURE_READERS, period=period, query=query
    )


@router.get("/datenschutz", response_class=HTMLResponse)
async def privacy(request: Request, user: CurrentUser, render: Render) -> HTMLResponse:
    """The data-protection officer's desk: the read log, erasure, (soon) subject access."""
    return render.page(request, "privacy.html", user=user, may=user.role in views.PRIVACY_ROLES)


@router.get("/datenschutz/lesezugriffe", response_class=HTMLResponse)
async def read_log(request: Request, user: CurrentUser, services: Services, render: Render) -> HTMLResponse:
    """Who read identities, referral reasons and health data (the services' audit of reads),
    filtered by participant, reader and day; a bad filter comes back next to its field."""
    filters = {k: request.query_params.get(k, "") for k in views.READ_LOG_FILTERS}
    page = await views.read_log(services, user, filters, _consistency(request))
    status = 422 if page.data["errors"] else int(page.data["status"])
    return _page(render, request, "read_log.html", status=status, user=user, page=page, values=filters)


@router.get("/datenschutz/loeschung", response_class=HTMLResponse)
async def erasure_form(request: Request, user: CurrentUser, render: Render, geloescht: str = "") -> HTMLResponse:
    erased = views.participant_number(geloescht)
    return _page(render, request, "erasure.html", user=user, may=user.role in views.ERASERS, erased=erased)


@router.post("/datenschutz/loeschung")
async def erase(request: Request, user: CurrentUser, services: Services, render: Render) -> Response:
    """Erasure (Art. 17 DSGVO) through intake's command: the participant's key is destroyed and
    every service told. Irreversible, so the form must be confirmed; intake decides who may."""
    values = await _form(request)
    pid = views.participant_number(values.get("participant_id", ""))
    errors: dict[str, str] = {}
    if pid is None:
        errors["participant_id"] = N_("Bitte eine vollständige Teilnehmendennummer eingeben.")
    if values.get("confirmed") != "on":
        errors["confirmed"] = N_("Bitte bestätigen Sie, dass die Löschung nicht rückgängig zu machen ist.")
    if pid is not None and not errors:
        path, body = forms.path_of(forms.ERASURE, str(pid), values), forms.body_of(forms.ERASURE, values)
        reply = await services.call(forms.ERASURE.service, "POST", path, user.token, json=body)
        if reply.ok:
            return _after_command(f"/datenschutz/loeschung?geloescht={pid}", reply)
        errors = _field_errors(reply, forms.ERASURE, also=("participant_id",))
        status = reply.status
    else:
        status = 422
    return render.page(
        request, "erasure.html", status=status, user=user, may=user.role in views.ERASERS, values=values, errors=errors
    )


@router.get("/arbeitgeber", response_class=HTMLResponse)
async def employers(request: Request, user: CurrentUser, services: Services, render: Render) -> HTMLResponse:
    """Arbeitgeberakquise: the employers (own agency and project partners) and a new one."""
    page = await views.employers(services, user, _consistency(request))
    return _page(render, request, "employers.html", status=_status(page), user=user, page=page)


@router.post("/arbeitgeber")
async def acquire_employer(request: Request, user: CurrentUser, services: Services, render: Render) -> Response:
    values = await _form(request)
    body = forms.body_of(forms.EMPLOYER, values)
    reply = await services.call(forms.EMPLOYER.service, "POST", forms.EMPLOYER.path, user.token, json=body)
    if reply.ok:
        return _after_command(f"/arbeitgeber/{reply.body['employer_id']}", reply)
    page = await views.employers(services, user, None)
    errors = _field_errors(reply, forms.EMPLOYER)
    return render.page(
        request, "employers.html", status=reply.status, user=user, page=page, values=values, errors=errors
    )


@router.get("/reha-arbeitsvorrat", response_class=HTMLResponse)
async def rehab_queue(request: Request, user: CurrentUser, services: Services, render: Render) -> HTMLResponse:
    """Reha-Arbeitsvorrat: the DRV adviser's open applications, oldest first, with waiting days."""
    page = await views.rehab_queue(services, user, _consistency(request))
    return _page(render, request, "rehab_queue.html", status=_status(page), user=user, page=page)


@router.get("/reha-arbeitsvorrat/{pid}/{aid}", response_class=HTMLResponse)
async def rehab_application(
    pid: UUID, aid: UUID, request: Request, user: CurrentUser, services: Services, render: Render
) -> HTMLResponse:
    """One application: the carrier's dossier while it is open, and the carrier's steps."""
    page = await views.rehab_queue(services, user, _consistency(request))
    return _page(render, request, "rehab_application.html", status=_status(page), **_application(user, page, pid, aid))


@router.post("/reha-arbeitsvorrat/{pid}/{aid}/{action}")
async def rehab_step(
    pid: UUID, aid: UUID, action: str, request: Request, user: CurrentUser, services: Services, render: Render
) -> Response:
    """The carrier's step (receipt, request, decision, measure start and end) through casework;
    a refusal comes back next to its field."""
    values = await _form(request)
    spec = forms.REHAB_ACTIONS.get(action)
    page_url = f"/reha-arbeitsvorrat/{pid}/{aid}"
    if spec is None:
        return RedirectResponse(page_url, status_code=303)
    path = forms.path_of(spec, str(pid), {**values, "application_id": str(aid)})
    reply = await services.call(spec.service, "POST", path, user.token, json=forms.body_of(spec, values))
    if reply.ok:
        return _after_command(f"{page_url}#{action}", reply)
    page = await views.rehab_queue(services, user, None)
    failed = _failed(action, _field_errors(reply, spec), values)
    return render.page(
        request, "rehab_application.html", status=reply.status, failed=failed, **_application(user, page, pid, aid)
    )


def _application(user: User, page: views.Page, pid: UUID, aid: UUID) -> dict[str, Any]:
    found = [a for a in page.data.get("applications", []) if a.get("application_id") == str(aid)]
    return {"user": user, "page": page, "pid": pid, "aid": aid, "application": found[0] if found else None}


@router.get("/produktionswerkstatt", response_class=HTMLResponse)
async def workshop(request: Request, user: CurrentUser, services: Services, render: Render) -> HTMLResponse:
    """Produktionswerkstatt: the running production orders, each leading to its participants."""
    page = await views.production_orders(services, user, _consistency(request))
    return _page(render, request, "workshop.html", status=_status(page), user=user, page=page)


@dataclass(frozen=True)
class Screen:
    """A page of one person that offers commands: its name, URL, template, view and the
    commands' forms; ``polls`` when the page waits (htmx) for its subject to appear."""

    name: str
    url: str
    template: str
    view: Callable[[Backends, User, UUID, str | None], Awaitable[views.Page]]
    actions: dict[str, forms.Action]
    polls: bool = False


SCREENS = {
    "intake": Screen("participant", "/teilnehmende", "participant.html", views.participant, forms.INTAKE_ACTIONS),
    "case": Screen("case", "/faelle", "case.html", views.case, forms.CASE_ACTIONS, polls=True),
    "placement": Screen("placement", "/vermittlung", "placement.html", views.candidate, forms.PLACEMENT_ACTIONS),
    "employer": Screen("employer", "/arbeitgeber", "employer.html", views.employer, forms.EMPLOYER_ACTIONS),
    "workshop": Screen(
        "production_order",
        "/produktionswerkstatt",
        "production_order.html",
        views.production_order,
        forms.WORKSHOP_ACTIONS,
    ),
}


def _add_routes(screen: Screen) -> None:
    """The screen's page (GET ``<url>/{pid}``) and its commands (POST ``<url>/{pid}/{action}``),
    the same pair for every screen."""

    async def show(pid: UUID, request: Request, user: CurrentUser, services: Services, render: Render) -> Response:
        return await _show(pid, screen, request, user, services, render)

    async def command(
        pid: UUID, action: str, request: Request, user: CurrentUser, services: Services, render: Render
    ) -> Response:
        return await _command(pid, action, screen, request, user, services, render)

    router.add_api_route(f"{screen.url}/{{pid}}", show, methods=["GET"], response_class=HTMLResponse, name=screen.name)
    router.add_api_route(f"{screen.url}/{{pid}}/{{action}}", command, methods=["POST"], name=f"{screen.name}_command")


async def _show(
    pid: UUID, screen: Screen, request: Request, user: User, services: Backends, render: Renderer
) -> Response:
    """The page, read behind the user's last command. A polling page (the case while casework
    opens it) answers htmx's poll with a redirect once its subject is there."""
    page = await screen.view(services, user, pid, _consistency(request))
    if screen.polls and request.headers.get("HX-Request") and page.data["status"] == 200:
        return Response(status_code=204, headers={"HX-Redirect": f"{screen.url}/{pid}"})
    return _page(render, request, screen.template, status=_status(page), user=user, page=page, pid=pid)


async def _command(
    pid: UUID, action: str, screen: Screen, request: Request, user: User, services: Backends, render: Renderer
) -> Response:
    """Send the form's command; on success back to the page (which then waits for it), on a
    refusal the page again with the service's reason next to the field and the values kept."""
    values = await _form(request)
    spec = screen.actions.get(action)
    page_url = f"{screen.url}/{pid}"
    if spec is None:
        return RedirectResponse(page_url, status_code=303)
    body = forms.body_of(spec, values, str(pid))
    if action == "uebernehmen":
        body["case_manager"] = user.principal.subject
    reply = await services.call(spec.service, "POST", forms.path_of(spec, str(pid), values), user.token, json=body)
    if reply.ok:
        return _after_command(f"{page_url}#{action}", reply)
    failed = _failed(action, _field_errors(reply, spec), values)
    page = await screen.view(services, user, pid, None)
    return render.page(request, screen.template, status=reply.status, user=user, page=page, pid=pid, failed=failed)


def _failed(action: str, errors: dict[str, str], values: dict[str, str]) -> dict[str, Any]:
    """A refused form: its errors and what was typed, the input marked with the form's action so
    that only that form is filled again (other forms of the page share field names)."""
    return {"form": action, "errors": errors, "input": {**values, forms.FAILED_FORM: action}}


def _field_errors(reply: Reply, spec: forms.Action, also: tuple[str, ...] = ()) -> dict[str, str]:
    """The API's errors by form field (the body's, and ``also`` those of the path the form
    fills in); those naming no field of the form (``consent``, ``eligibility``, a 409's
    reason) go to the form as a whole."""
    errors: dict[str, str] = {}
    for name, reason in reply.errors().items():
        key = name if name in spec.fields or name in also else "_"
        errors[key] = f"{errors[key]}; {reason}" if key in errors else reason
    return errors


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items()}


def _status(page: views.Page) -> int:
    status = int(page.data.get("status", 200))
    return status if status in (200, 403, 404) else 502


for _screen in SCREENS.values():  # after _show and _command, which the routes call
    _add_routes(_screen)
