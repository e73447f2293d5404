"""Seal by declaration: every free-text string field of every event contract is either
``Sealed`` (ciphertext under the subject's key) or ``Plain`` with the reason it reveals neither
health nor identity. A new contract with a bare ``str`` fails here."""

from __future__ import annotations

import typing
from typing import Annotated, Any

import services.casework.app
import services.intake.app
import services.placement.app
import services.reporting.app  # noqa: F401
from shared.contracts import registry
from shared.contracts.base import DomainEvent, PlainText, SealedText


def _bare_strings(annotation: Any) -> list[str]:
    """Where ``str`` occurs without a Sealed/Plain marker (an empty list: all declared)."""
    if typing.get_origin(annotation) is Annotated:
        inner, *marks = typing.get_args(annotation)
        if any(isinstance(m, SealedText | PlainText) for m in marks):
            return []
        return _bare_strings(inner)
    if annotation is str:
        return ["str"]
    return [s for arg in typing.get_args(annotation) for s in _bare_strings(arg)]


def _is_sealed(annotation: Any) -> bool:
    if typing.get_origin(annotation) is Annotated:
        return any(isinstance(m, SealedText) for m in typing.get_args(annotation)[1:])
    return any(_is_sealed(a) for a in typing.get_args(annotation))


def _fields(model: type[DomainEvent]) -> dict[str, Any]:
    hints = typing.get_type_hints(model, include_extras=True)
    return {name: hints[name] for name in model.model_fields}


def test_every_free_text_field_is_sealed_or_allowed_with_a_reason() -> None:
    undeclared = [
        f"{m.service}:{m.event_type}.{name}"
        for m in registry.models()
        for name, annotation in _fields(m).items()
        if _bare_strings(annotation)
    ]
    assert undeclared == []


def test_sealed_fields_and_sealed_names_go_together() -> None:
    """The views open ``sealed_x`` into ``x``: the name and the marker must agree."""
    wrong = [
        f"{m.event_type}.{name}"
        for m in registry.models()
        for name, annotation in _fields(m).items()
        if name.startswith("sealed_") != _is_sealed(annotation)
    ]
    assert wrong == []


def test_the_walker_catches_a_bare_string() -> None:
    class Leaky(DomainEvent):
        event_type: typing.ClassVar[str] = "Leaky"
        service: typing.ClassVar[str] = "test"
        doctor: str | None = None
        tags: list[str] = []

    assert [n for n, a in _fields(Leaky).items() if _bare_strings(a)] == ["doctor", "tags"]


def test_health_revealing_free_text_is_sealed() -> None:
    """The fields the security review found in clear (issue 13): sealed from these versions on."""
    for event_type, name in [
        ("InterventionPlanned", "sealed_provider"),
        ("ConsentGranted", "sealed_scope"),
        ("ObjectionRecorded", "sealed_scope"),
        ("PhaseEntered", "sealed_reason"),
    ]:
        assert _is_sealed(_fields(registry.model(event_type))[name]), (event_type, name)
