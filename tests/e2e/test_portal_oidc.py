"""The portal's OpenID Connect login end to end: a fake agency provider (tests/fake_oidc.py) on a
free port, the four services trusting it through a trust file (``REHAPRO_JWT_TRUST_FILE``, the
role mapped from its ``realm_access.roles``, the agency from the issuer), and a browser that logs
in through the authorization-code flow with PKCE and sees the user's caseload."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path

import httpx
import orjson
import pytest
from playwright.async_api import Browser, expect

from shared.auth import SERVICE_ISSUER, dev_issuer, signing_keys
from shared.vocabulary import AGENCIES, Role
from tests.e2e.browser import accessible, serve_portal
from tests.e2e.conftest import Stack
from tests.e2e.test_placement import enrolled_with_open_case
from tests.fake_oidc import FakeProvider, free_port

SUBJECT = "anna.fm@jobcenter-en.example"


@pytest.fixture
def portal_port() -> int:
    """The portal's port, chosen when the test starts (one chosen at import may be any
    connection's source port by the time the test runs, late in the session)."""
    return free_port()


def redirect_of(port: int) -> str:
    return f"http://127.0.0.1:{port}/anmelden/oidc/callback"


@pytest.fixture
def idp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, portal_port: int) -> Iterator[FakeProvider]:
    """The provider, and a trust file naming it (plus the development issuers the test's own
    tokens and the services' tokens come from) for every service and the portal."""
    provider = FakeProvider("rehapro-portal", "geheim", redirect_of(portal_port), SUBJECT, "fallmanagement")
    provider.start()
    keys = signing_keys()
    keys._load()
    dev = str(keys.jwks_path.resolve())
    issuers = [provider.trust_entry("jc-en", {"fallmanagement": Role.CASE_MANAGER.value})]
    issuers += [{"issuer": dev_issuer(a), "agency": a, "jwks_file": dev, "agency_claim": True} for a in AGENCIES]
    issuers.append({"issuer": SERVICE_ISSUER, "agency": "*", "jwks_file": dev, "agency_claim": True})
    trust = tmp_path / "trust.json"
    trust.write_bytes(orjson.dumps({"issuers": issuers}))
    monkeypatch.setenv("REHAPRO_JWT_TRUST_FILE", str(trust))
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture
def stack(idp: FakeProvider, stack: Stack) -> Stack:
    """The shared stack, built after the trust file is in place."""
    return stack


@pytest.fixture
async def oidc_portal(stack: Stack, idp: FakeProvider, portal_port: int) -> AsyncIterator[str]:
    settings = {
        "oidc_issuer": idp.issuer,
        "oidc_client_id": idp.client_id,
        "oidc_client_secret": idp.client_secret,
        "oidc_redirect_uri": redirect_of(portal_port),
    }
    async with serve_portal(stack, portal_port, **settings) as url:
        yield url


async def test_a_case_manager_logs_in_through_the_agencys_provider_and_sees_her_caseload(
    stack: Stack,
    idp: FakeProvider,
    oidc_portal: str,
    browser: Browser,
) -> None:
    pid = await enrolled_with_open_case(stack)
    casework = stack.clients["casework"]
    cm = stack.token(Role.CASE_MANAGER, "jc-en")
    assigned = await casework.post(
        f"/cases/{pid}/case-manager",
        json={"case_manager": SUBJECT, "assigned_on": date.today().isoformat()},
        headers=cm,
    )
    assert assigned.status_code == 200, assigned.text

    page = await (await browser.new_context(locale="de-DE")).new_page()
    await page.goto(f"{oidc_portal}/arbeitsplatz")
    await expect(page).to_have_url(f"{oidc_portal}/anmelden")
    await accessible(page, "20-anmelden-oidc")
    await page.get_by_role("link", name="Mit dem Behördenkonto anmelden").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mein Arbeitsplatz")
    assert len(idp.redeemed) == 1  # the code went through the token endpoint, once
    await expect(page.locator(".who")).to_contain_text("Fallmanagement · jc-en")
    await expect(page.locator("#faelle")).to_contain_text("(1)")
    await expect(page.get_by_role("link", name=pid)).to_be_visible()
    await accessible(page, "21-arbeitsplatz-oidc")

    # the session is the provider's access token: the services answer the portal with it
    await page.goto(f"{oidc_portal}/faelle/{pid}")
    await expect(page.locator(".facts")).to_contain_text(SUBJECT)

    await page.get_by_role("button", name="Abmelden").click()  # here and at the provider
    await expect(page).to_have_url(f"{oidc_portal}/anmelden")
    assert len(idp.logged_out) == 1
    assert idp.logged_out[0]
    await page.goto(f"{oidc_portal}/arbeitsplatz")
    await expect(page).to_have_url(f"{oidc_portal}/anmelden")


async def test_a_callback_with_a_foreign_state_or_a_replayed_code_does_not_log_in(
    stack: Stack, idp: FakeProvider, oidc_portal: str
) -> None:
    async with httpx.AsyncClient(base_url=oidc_portal) as client:
        start = await client.get("/anmelden/oidc")
        assert start.status_code == 303
        authorize = httpx.URL(start.headers["location"])
        assert authorize.params["code_challenge_method"] == "S256"
        assert authorize.params["nonce"]
        back = await client.get(str(authorize))  # the provider consents and sends us back
        callback = httpx.URL(back.headers["location"])
        forged = await client.get("/anmelden/oidc/callback", params={"code": callback.params["code"], "state": "x"})
        assert forged.status_code == 401
        assert "rp_session" not in forged.cookies
        # the flow cookie is gone after a callback: a second try with the right state fails too
        again = await client.get(str(callback))
        assert again.status_code == 401
        assert "rp_session" not in client.cookies
    assert idp.redeemed == []
