"""The edge's value types (shared.values) and the append's last line of defence."""

from __future__ import annotations

import importlib
from datetime import date, timedelta
from uuid import uuid4

import pytest
from pydantic import BaseModel, Field, ValidationError

from shared.bus import Command
from shared.contracts.intake import ObjectionRecorded
from shared.envelope import Actor, new_id
from shared.eventstore import CommandContext, UnstorableEvent
from shared.memory import MemoryEventStore
from shared.values import BirthDate, BusinessDate, Money, Name, Text, unstorable_at


class Sample(BaseModel):
    text: Text = Field(default="", max_length=50)
    name: Name = Field(default="x", max_length=50)
    day: BusinessDate = date(2026, 1, 1)
    born: BirthDate = date(1984, 5, 17)
    cost: Money = 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("text", "a\x00b"),
        ("text", "bell\x07"),
        ("text", "\ud800"),
        ("name", "tab\there"),
        ("name", "new\nline"),
        ("day", "0001-01-01"),
        ("day", "1899-12-31"),
        ("day", (date.today() + timedelta(days=400)).isoformat()),
        ("born", date.today().isoformat()),
        ("cost", 1e308),
        ("cost", "inf"),
        ("cost", "nan"),
        ("cost", -1),
        ("text", "x" * 51),
    ],
)
def test_refused_with_the_field_named(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as refused:
        Sample.model_validate({field: value})
    assert [e["loc"] for e in refused.value.errors()] == [(field,)]


def test_free_text_keeps_tab_and_newline() -> None:
    assert Sample(text="line one\n\tline two\r\n").text.startswith("line one")


def test_every_string_of_every_command_model_is_bounded() -> None:
    """No command field takes an unbounded string: each states its own ``max_length``."""
    unbounded = []
    for service in ("intake", "casework", "placement", "reporting"):
        module = importlib.import_module(f"services.{service}.commands")
        for model in vars(module).values():
            if not (isinstance(model, type) and issubclass(model, Command)) or model.__module__ != module.__name__:
                continue
            schema = model.model_json_schema()
            for part in [schema, *schema.get("$defs", {}).values()]:
                for name, prop in part.get("properties", {}).items():
                    for option in prop.get("anyOf", [prop.get("items", prop)]):
                        if option.get("type") == "string" and not {"format", "enum", "const", "maxLength"} & set(
                            option
                        ):
                            unbounded.append(f"{part.get('title')}.{name}")
    assert unbounded == []


def test_unstorable_at_names_the_path() -> None:
    assert unstorable_at({"a": [{"b": "x\x00"}]}) == "a.0.b"
    assert unstorable_at({"k\x00": 1}) == "k\x00"
    assert unstorable_at({"a": "fine\ttext", "n": 1.5}) is None


async def test_the_append_refuses_an_event_no_consumer_could_store() -> None:
    store = MemoryEventStore()
    context = CommandContext(
        actor=Actor(id="cm-1", role="case-manager"), agency="jc-en", project=None, correlation_id=new_id()
    )
    poison = ObjectionRecorded(
        participant_id=uuid4(), objection_id=uuid4(), recorded_on=date(2026, 1, 1), scope="Dr.\x00 X"
    )
    with pytest.raises(UnstorableEvent) as refused:
        await store.append(
            stream_id="p-1", stream_type="participant", expected_version=0, events=[poison], context=context
        )
    assert refused.value.field == "scope"
    assert store.log == []
