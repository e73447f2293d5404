"""The portal in a real browser for the tests: Debian's headless Chromium driven by Playwright
(fixture ``browser``), the portal over real HTTP on the in-process services (fixture ``portal``),
the development login, a German page logged in as a role, and axe-core with a screenshot."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Page, Response, async_playwright, expect

from services.portal.app import build as build_portal
from shared.settings import load_settings
from tests import support

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "services" / "portal" / "assets" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path(os.environ.get("PORTAL_SCREENSHOTS", ROOT / ".local" / "screenshots"))
# date inputs as TT.MM.JJJJ (with Debian's chromium-l10n: locales/de.pak)
CHROMIUM_ARGS = [*support.CHROMIUM_ARGS, "--lang=de-DE"]
GERMAN_PAK = Path("/usr/lib/chromium/locales/de.pak")
AXE_RUN = """async () => {
  const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                 nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}));
}"""


# An assertion on a page waits for it up to 30 s, not Playwright's 5 s: the shared CI cores
# may take longer to render a page, and the condition is what is checked, not the speed.
expect.set_options(timeout=30_000)
# The portal's notice on a page read behind the user's last command (the service's 2 s bound
# passed before its read model applied the command: a busy machine), and its cookie.
# (base.html; other pages' notices share its class: it is told apart by its words, de or en)
BEHIND = "main > p.notice[role=status]"
BEHIND_TEXT = re.compile("noch nicht auf dem neuesten Stand|not fully up to date yet")
CONSISTENCY_COOKIE = "rp_consistency"
_FOLLOWING: weakref.WeakSet[Page] = weakref.WeakSet()


def _chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: apt-get install chromium (see .ci/run)")
        pytest.skip("chromium is not installed")
    if not AXE.exists():
        pytest.fail("axe-core is missing: npm ci --prefix services/portal/assets (see .ci/run)")
    return binary


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def serve_portal(stack: Stack, port: int, **settings: Any) -> AsyncIterator[str]:
    """The portal on ``port`` over real HTTP, calling the in-process services of the stack."""
    transports = {name: httpx.ASGITransport(app=app) for name, app in stack.apps.items()}
    app = build_portal(transports=transports, **settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    task = asyncio.create_task(server.serve())
    await support.eventually(lambda: asyncio.sleep(0, server.started), bool, timeout=30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def portal(stack: Stack) -> AsyncIterator[str]:
    async with serve_portal(stack, _free_port(), jwt_secret=load_settings("test").jwt_secret) as url:
        yield url


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    binary = _chromium()
    async with async_playwright() as pw:
        env: dict[str, str | float | bool] = {**os.environ, "LANG": "de_DE.UTF-8", "LANGUAGE": "de"}
        b = await pw.chromium.launch(executable_path=binary, headless=True, args=CHROMIUM_ARGS, env=env)
        try:
            yield b
        finally:
            await b.close()


async def accessible(page: Page, name: str) -> None:
    """axe-core in the page: no serious or critical WCAG 2.1 A/AA violation; and a screenshot."""
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    await page.add_script_tag(path=str(AXE))
    violations: list[dict[str, Any]] = await page.evaluate(AXE_RUN)
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{name}: {bad}"


async def follow_commands(page: Page) -> None:
    """What the notice asks of a user, for a test: when a page answers behind the last command,
    load it again with that command's token (the portal used it up on the first load) until
    it is current; every assertion after a command then sees the command's result."""
    last: dict[str, str] = {}

    async def remember(response: Response) -> None:
        for header in await response.header_values("set-cookie"):
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0].strip('"')
            if name.strip() == CONSISTENCY_COOKIE and value:
                last["token"] = value

    async def catch_up() -> None:
        if "token" in last:
            cookie = {"name": CONSISTENCY_COOKIE, "value": last["token"], "url": page.url}
            await page.context.add_cookies([cookie])  # type: ignore[list-item]
        await page.reload()

    if page in _FOLLOWING:  # logged in again on the same page
        return
    _FOLLOWING.add(page)
    page.on("response", remember)
    await page.add_locator_handler(page.locator(BEHIND, has_text=BEHIND_TEXT), catch_up, no_wait_after=True)


async def login(page: Page, base: str, role: str, agency: str = "jc-en") -> None:
    await follow_commands(page)
    await page.goto(f"{base}/anmelden")
    await page.get_by_label("Behörde").select_option(agency)
    await page.get_by_label("Rolle").select_option(role)
    await page.get_by_role("button", name="Anmelden").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mein Arbeitsplatz")


async def german_page(browser: Browser, portal: str, role: str, agency: str = "jc-en") -> Page:
    """A new German browser page, logged in through the development login as ``role``."""
    page = await (await browser.new_context(locale="de-DE")).new_page()
    await login(page, portal, role, agency)
    return page
