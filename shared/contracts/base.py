"""Base for event payload contracts and the registry that maps type names to models."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, TypeAlias, TypeVar

from pydantic import BaseModel, ConfigDict


@dataclass(frozen=True)
class SealedText:
    """Marks a contract field as ciphertext under the subject's key (``shared.crypto``): free
    text that can reveal health or identity travels only like this."""


@dataclass(frozen=True)
class PlainText:
    """Marks a free-text contract field as allowed in clear, with the reason why it reveals
    neither health nor identity (tests/unit/test_sealed_fields.py holds every contract to it)."""

    reason: str


Sealed: TypeAlias = Annotated[str, SealedText()]


def Plain(reason: str) -> PlainText:
    return PlainText(reason)


AgencyCode: TypeAlias = Annotated[str, Plain("agency code from the closed list (vocabulary.AGENCIES)")]
ProjectCode: TypeAlias = Annotated[str, Plain("project code from the closed list (vocabulary.PROJECTS)")]
StaffId: TypeAlias = Annotated[str, Plain("pseudonymous staff user id (the token's subject)")]
Code: TypeAlias = Annotated[str, Plain("a short code or label from a fixed set, no person's details")]
AgencyScope: TypeAlias = Annotated[
    str,
    Plain(
        "the partner agency of a drv-exchange consent; from v2 on a doctor or clinic is never here"
        " (sealed_scope); v1 medical-release events hold theirs in clear, as recorded"
    ),
]
EmployerText: TypeAlias = Annotated[str, Plain("an employer's business data (a firm, its vacancies), no person's")]
LegacyClearText: TypeAlias = Annotated[
    str, Plain("v1 events only: recorded in clear before the field was sealed (v2); history is not rewritten")
]
NameMarks: TypeAlias = Annotated[
    list[str],
    Plain(
        "keyed digests (HMAC, key outside the database) of a sealed doctor's or clinic's words:"
        " lets another service match a name it already has, never recovers one"
    ),
]
NonMedicalReason: TypeAlias = Annotated[
    str, Plain("non-medical reason by contract (the API says so); health details go into sealed notes")
]
OperatorText: TypeAlias = Annotated[str, Plain("operator metadata about a parked record, no payload content")]

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
E = TypeVar("E", bound=type["DomainEvent"])


class DomainEvent(BaseModel):
    """A past-tense fact. Subclasses name their type, schema version and owning service.

    ``health_data`` marks contracts that carry GDPR Art. 9 data: they never leave casework
    (the registry refuses to put such a type on a shared topic).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    service: ClassVar[str]
    health_data: ClassVar[bool] = False


class UnknownEventType(LookupError):
    pass


class EventRegistry:
    """Type name → payload model, plus upcasters that lift old payloads to the current schema."""

    def __init__(self) -> None:
        self._models: dict[str, type[DomainEvent]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, model: E) -> E:
        existing = self._models.get(model.event_type)
        if existing is not None and existing is not model:
            raise ValueError(f"event type {model.event_type} registered twice")
        self._models[model.event_type] = model
        return model

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register a function turning a payload of ``from_version`` into ``from_version + 1``."""

        def deco(fn: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = fn
            return fn

        return deco

    def model(self, event_type: str) -> type[DomainEvent]:
        try:
            return self._models[event_type]
        except KeyError:
            raise UnknownEventType(event_type) from None

    def knows(self, event_type: str) -> bool:
        return event_type in self._models

    def models(self) -> list[type[DomainEvent]]:
        return sorted(self._models.values(), key=lambda m: (m.service, m.event_type))

    def upcast(self, event_type: str, schema_version: int, payload: dict[str, Any]) -> dict[str, Any]:
        current = self.model(event_type).schema_version
        version = schema_version
        while version < current:
            step = self._upcasters.get((event_type, version))
            if step is None:
                raise ValueError(f"no upcaster for {event_type} v{version}")
            payload = step(payload)
            version += 1
        return payload

    def load(self, event_type: str, schema_version: int, payload: dict[str, Any]) -> DomainEvent:
        """Parse a stored payload into its current model, upcasting old versions first."""
        model = self.model(event_type)
        return model.model_validate(self.upcast(event_type, schema_version, payload))


registry = EventRegistry()


def event(cls: E) -> E:
    """Class decorator: register a contract with the global registry. Its type on the wire is
    its class name (``event_type``), so a contract states it once."""
    declared = cls.__dict__.get("event_type", cls.__name__)
    if declared != cls.__name__:
        raise TypeError(f"{cls.__name__}: the event type is the class name, not {declared!r}")
    cls.event_type = cls.__name__
    registry.register(cls)
    return cls
