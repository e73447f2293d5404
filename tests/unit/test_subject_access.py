"""Subject access's shared rule (only the owning agency's DPO), the answer's shape, sealed
fields opened whatever a reader's role, and how the portal reads the services' answers."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import uuid4

import pytest

from services.portal import subject_access as document
from shared import subject_access as rules
from shared.contracts.casework import CaseNoteAdded
from shared.domain import Forbidden, NotFound
from shared.principal import Principal
from shared.vocabulary import Role


def test_only_the_dpo_of_the_owning_agency() -> None:
    rules.require_subject_access(Principal("dsb", Role.DATA_PROTECTION_OFFICER, "jc-en"), "jc-en")
    with pytest.raises(Forbidden):
        rules.require_subject_access(Principal("cm", Role.CASE_MANAGER, "jc-en"), "jc-en")
    with pytest.raises(Forbidden):
        rules.require_subject_access(Principal("aud", Role.AUDITOR, "jc-en"), "jc-en")
    with pytest.raises(NotFound):  # another agency: the person's existence stays confidential
        rules.require_subject_access(Principal("dsb", Role.DATA_PROTECTION_OFFICER, "jc-mk"), "jc-en")


def test_an_erased_answer_says_when_and_holds_no_data() -> None:
    out = rules.answer("intake", uuid4(), "jc-en", data={"identity": "x"}, reads=[], erased_on=date(2026, 4, 1))
    assert out["erased"] is True
    assert out["data"] is None
    assert "01.04.2026" in out["note"]


async def test_every_sealed_field_is_opened() -> None:
    note = CaseNoteAdded.model_construct(
        case_id=uuid4(), note_id=uuid4(), written_on=date(2026, 3, 1), author="psy", confidential=True,
        sealed_text="cipher",
    )  # fmt: skip

    async def opener(token: str) -> Any:
        return f"opened {token}"

    data = await rules.opened(note, opener)
    assert data["text"] == "opened cipher"
    assert "sealed_text" not in data


def test_a_404_after_intake_is_nothing_held_but_intake_refusals_pass_on() -> None:
    assert document._section("placement", 404, {"error": "no such candidate"})["status"] == "nothing-held"
    with pytest.raises(document.Refused) as refused:
        document._section("intake", 404, {"error": "no such participant"})
    assert refused.value.status == 404
    with pytest.raises(document.Refused) as failed:
        document._section("casework", 500, "boom")
    assert failed.value.status == 502  # a partial document would read as complete
