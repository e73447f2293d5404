"""Intake's search by name or participant number (issue 16, "search … through intake,
audited"): names are matched by their keyed word digests (the register's blind index), only
the caller's agency's participants are found, each hit is a read in the read log, and an
erased person is no longer found."""

from __future__ import annotations

from typing import Any, cast

import asyncpg
import httpx
import pytest

from shared.vocabulary import Role
from tests import support
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


async def refer(stack: Stack, agency: str, first: str, last: str) -> str:
    identity = cast("dict[str, str]", support.REFERRAL["identity"])
    body = {**support.REFERRAL, "identity": {**identity, "first_name": first, "last_name": last}}
    r = await stack.clients["intake"].post("/referrals", json=body, headers=stack.token(Role.CASE_MANAGER, agency))
    assert r.status_code == 201, r.text
    return str(r.json()["participant_id"])


async def search(
    stack: Stack, q: str, agency: str = "jc-en", role: Role = Role.CASE_MANAGER, subject: str = "cm-search"
) -> httpx.Response:
    return await stack.clients["intake"].get(
        "/participants/search", params={"q": q}, headers=stack.token(role, agency, subject)
    )


def ids(r: httpx.Response) -> list[str]:
    return [p["participant_id"] for p in r.json()["participants"]]


async def test_search_by_name_words_and_number_in_the_own_agency_only_and_audited(stack: Stack) -> None:
    anna = await refer(stack, "jc-en", "Anna-Lena", "Müller")
    berta = await refer(stack, "jc-en", "Berta", "Müller")
    other = await refer(stack, "jc-mk", "Anna-Lena", "Müller")  # the same name in another agency
    await support.eventually(lambda: search(stack, "müller", subject="cm-wait"), lambda r: len(ids(r)) == 2)

    r = await search(stack, "MÜLLER, anna")  # case, order and punctuation ignored; every word must match
    assert r.status_code == 200, r.text
    assert ids(r) == [anna]
    (hit,) = r.json()["participants"]
    assert (hit["first_name"], hit["last_name"], hit["birth_date"]) == ("Anna-Lena", "Müller", "1984-05-17")
    assert hit["project"] == "pro-aktiv"
    assert hit["status"] == "referred"
    assert sorted(ids(await search(stack, "Müller"))) == sorted([anna, berta])
    assert ids(await search(stack, "Mül")) == []  # whole words only
    assert ids(await search(stack, "Anna Schmidt")) == []
    assert ids(await search(stack, anna)) == [anna]  # the number, exactly
    assert ids(await search(stack, other)) == []  # another agency's participant is not found
    mk = await support.eventually(
        lambda: search(stack, "Anna", agency="jc-mk", subject="cm-wait"), lambda r: ids(r) != []
    )
    assert ids(mk) == [other]

    bad = await search(stack, " ,;")
    assert bad.status_code == 422, bad.text
    assert bad.json()["errors"][0]["field"] == "q"
    refused = await search(stack, "Müller", role=Role.PROJECT_LEAD)
    assert refused.status_code == 403, refused.text

    log = await reads_of(stack, "cm-search")
    assert {(row["participant_id"], row["what"]) for row in log} == {(anna, "search"), (berta, "search")}
    assert len([row for row in log if row["participant_id"] == anna]) == 3  # "müller, anna", "müller", the number


async def test_no_name_is_stored_in_clear_and_an_erased_person_is_not_found(stack: Stack) -> None:
    pid = await refer(stack, "jc-en", "Zofia", "Quellenberg")
    await support.eventually(lambda: search(stack, "Quellenberg"), lambda r: ids(r) == [pid])
    conn = await asyncpg.connect(stack.urls["intake"])
    try:
        marks = await conn.fetch("SELECT mark FROM proj_register.participant_name_marks WHERE participant_id = $1", pid)
        assert len(marks) == 2
        assert all("quellenberg" not in m["mark"].casefold() for m in marks)
    finally:
        await conn.close()
    dpo = stack.token(Role.DATA_PROTECTION_OFFICER, "jc-en")
    erasure = {"legal_basis": "Art. 17 DSGVO, request of 2026-03-20"}
    r = await stack.clients["intake"].post(f"/participants/{pid}/erasure", json=erasure, headers=dpo)
    assert r.status_code == 200, r.text
    await support.eventually(lambda: search(stack, "Quellenberg"), lambda r: ids(r) == [])


async def reads_of(stack: Stack, subject: str) -> list[dict[str, Any]]:
    auditor = stack.token(Role.AUDITOR, "jc-en")
    r = await stack.clients["intake"].get("/audit/data-reads", params={"subject": subject}, headers=auditor)
    assert r.status_code == 200, r.text
    return list(r.json()["reads"])
