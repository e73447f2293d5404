"""The demo script creates its participants through the real APIs (in-process stack)."""

from __future__ import annotations

import functools
import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.vocabulary import Role
from tests import support
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


def load_demo() -> Any:
    spec = importlib.util.spec_from_file_location("rehapro_demo", Path(__file__).parents[2] / "deploy/local/demo.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["rehapro_demo"] = module  # dataclasses resolve annotations through it
    spec.loader.exec_module(module)
    return module


async def test_demo_populates_every_agency_and_stage(stack: Stack) -> None:
    demo = load_demo()
    started = time.perf_counter()
    everyone = await demo.populate(stack.clients["intake"], stack.clients["casework"], stack.token, per_agency=10)
    print(f"demo: {len(everyone)} participants in {time.perf_counter() - started:.1f}s")
    assert {p.agency for p in everyone} == {"jc-en", "jc-mk", "jc-unna", "drv-westfalen"}
    # running it again changes nothing (idempotency keys)
    again = await demo.populate(stack.clients["intake"], stack.clients["casework"], stack.token, per_agency=10)
    assert [p.pid for p in again] == [p.pid for p in everyone]
    for agency in ("jc-en", "jc-unna", "drv-westfalen"):
        lead = stack.token(Role.PROJECT_LEAD, agency, "lead")

        def every_stage(r: httpx.Response, a: str = agency) -> bool:
            return {c["phase"] for c in r.json() if c["agency"] == a} >= {
                "einstieg", "clearing", "stabilisierung", "produktionswerkstatt", "stellensuche",
            }  # fmt: skip

        def every_status(r: httpx.Response, a: str = agency) -> bool:
            return {c["status"] for c in r.json() if c["agency"] == a} >= {"open", "interrupted", "exited"}

        # the cases sit on different partitions: every phase shown says nothing of every status
        cases = await support.eventually(
            functools.partial(stack.clients["casework"].get, "/cases", headers=lead),
            lambda r: every_stage(r) and every_status(r),
        )
        assert every_status(cases)
