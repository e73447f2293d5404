"""Fixtures for the security tests: one intake service on its own database, and a SoftHSM2
token made for the test session (PKCS#11 loads its library once per process, so the token's
configuration is fixed before the first test that uses it)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.intake.app import build as build_intake
from tests import support

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "4711-test"


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A fresh SoftHSM2 token (label ``rehapro-test``) in a temporary directory."""
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "rehapro-test", "--pin", PIN, "--so-pin", "so-" + PIN],
        check=True,
        capture_output=True,
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
    )
    return {"pkcs11_module": SOFTHSM_MODULE, "pkcs11_token": "rehapro-test", "pkcs11_pin": PIN}


IntakeFactory = Callable[..., AbstractAsyncContextManager[tuple[FastAPI, httpx.AsyncClient]]]


@pytest.fixture
def intake_db(pg_url: str) -> str:
    """Intake's own database: a fresh, empty one for the test (``pg_url``)."""
    return pg_url


@pytest.fixture
def start_intake(topic_prefix: str) -> IntakeFactory:
    """Starts intake (on the real broker, its own topic prefix) with the given settings."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
        await support.create_topics([f"{topic_prefix}{name}.events" for name in support.SERVICES])
        app = build_intake(topic_prefix=topic_prefix, kafka_bootstrap=support.KAFKA, log_json=False, **overrides)
        transport = httpx.ASGITransport(app=app)
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://i") as c:
            yield app, c

    return start


def pg_bin(tool: str) -> Path:
    return Path("/usr/lib/postgresql/15/bin") / tool
