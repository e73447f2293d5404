"""``case``: one participant's case as it stood at a moment, from the topics alone. Every event of
the person's streams (and every event naming them) recorded up to then, as a timeline; and the
state of each stream folded by its service's own aggregate (the same ``Decider`` the service
loads it with). Sealed fields stay sealed: their keys live with the services, not on the topics;
only an auditor granted that participant's key (``shared.audit.grants``) sees them opened.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from shared.audit.grants import Opener
from shared.audit.rebuild import SERVICES
from shared.contracts.base import registry
from shared.domain import Decider
from shared.envelope import Envelope
from shared.projections import Record
from shared.recorded import Recorded

SEALED = "<sealed>"


def deciders() -> dict[str, Decider[Any]]:
    """stream type -> the aggregate that folds it, from every service's domain package."""
    found: dict[str, Decider[Any]] = {}
    for service in SERVICES:
        root = importlib.import_module(f"services.{service}.domain")
        modules = [root]
        if hasattr(root, "__path__"):
            modules += [
                importlib.import_module(m.name) for m in pkgutil.walk_packages(root.__path__, f"{root.__name__}.")
            ]
        for module in modules:
            for value in vars(module).values():
                if isinstance(value, Decider):
                    found[value.stream_type] = value
    return found


def belongs(envelope: Envelope, participant: str) -> bool:
    """The person's own streams (``participant-<id>``, ``case-<id>`` …) or an event naming them."""
    return envelope.stream_id.endswith(participant) or str(envelope.payload.get("participant_id")) == participant


def plain(value: Any, opener: Opener | None = None, subject: str = "") -> Any:
    """JSON-able, with every ``sealed_*`` value replaced by a marker (never the ciphertext), or by
    its plain value where the opener holds a granted key of ``subject`` that opens it."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _sealed(v, opener, subject) if str(k).startswith("sealed_") and v else plain(v, opener, subject)
                for k, v in value.items()}  # fmt: skip
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v, opener, subject) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def _sealed(token: Any, opener: Opener | None, subject: str) -> Any:
    opened, value = opener.open(subject, token) if opener is not None else (False, None)
    return plain(value) if opened else SEALED


@dataclass
class CaseView:
    participant: str
    as_of: datetime
    timeline: list[dict[str, Any]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"participant": self.participant, "as_of": self.as_of.isoformat(), "state": self.state,
                "timeline": self.timeline}  # fmt: skip


class CaseReader:
    """Fed every record of the topics; keeps the person's events recorded up to ``as_of``; with an
    opener (the auditor's granted keys), their sealed fields opened."""

    def __init__(self, participant: str, as_of: datetime, opener: Opener | None = None) -> None:
        self.participant = participant
        self.as_of = as_of
        self.opener = opener
        self.found: list[tuple[Record, Envelope]] = []

    def feed(self, records: Iterable[Record]) -> None:
        for record in records:
            try:
                env = Envelope.from_bytes(record.value)
            except ValueError:
                continue  # verify reports it; a reconstruction reads what it can
            if env.recorded_at <= self.as_of and belongs(env, self.participant):
                self.found.append((record, env))

    def finish(self) -> CaseView:
        view = CaseView(self.participant, self.as_of)
        events = sorted(self.found, key=lambda f: (f[1].recorded_at, f[1].stream_id, f[1].version))
        view.timeline = [_entry(record, env, self.opener, self.participant) for record, env in events]
        view.state = _states((env for _, env in events), self.opener, self.participant)
        return view


def _entry(record: Record, env: Envelope, opener: Opener | None, subject: str) -> dict[str, Any]:
    return {
        "recorded_at": env.recorded_at.isoformat(), "occurred_at": env.occurred_at.isoformat(),
        "topic": record.topic, "partition": record.partition, "offset": record.offset,
        "stream_id": env.stream_id, "version": env.version, "event_type": env.event_type,
        "schema_version": env.schema_version, "actor": env.actor.model_dump(), "agency": env.agency,
        "payload": plain(env.payload, opener, subject),
    }  # fmt: skip


def _states(envelopes: Iterable[Envelope], opener: Opener | None, subject: str) -> dict[str, Any]:
    """Each stream with a known aggregate, folded in version order (duplicates once)."""
    known = deciders()
    streams: dict[str, dict[int, Envelope]] = {}
    for env in envelopes:
        if env.stream_type in known and registry.knows(env.event_type):
            streams.setdefault(env.stream_id, {})[env.version] = env
    states = {}
    for stream_id, by_version in sorted(streams.items()):
        events = [by_version[v] for v in sorted(by_version)]
        decider = known[events[0].stream_type]
        folded = decider.fold([Recorded.decode(e).payload for e in events])
        states[stream_id] = {
            "stream_type": decider.stream_type,
            "version": events[-1].version,
            "state": plain(folded, opener, subject),
        }
    return states
