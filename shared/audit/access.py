"""``access``: every read and write of a person's data, from the topics. Writes are the events
themselves (actor, role, agency, time); reads are the services' published read records
(``DataRead``, ``shared.audit.reads``), so the access log is verified by the same ``verify``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from shared.audit.checkpoints import AUDIT_STREAM_TYPE
from shared.audit.reads import READS_STREAM_TYPE
from shared.contracts.audit import DataRead
from shared.envelope import Envelope
from shared.projections import Record
from shared.recorded import Recorded


@dataclass(frozen=True)
class Access:
    at: datetime
    kind: Literal["read", "write"]
    participant: str
    subject: str
    role: str
    agency: str
    what: str  # read: the category shown; write: the event type
    topic: str
    partition: int
    offset: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"at": self.at.isoformat()}


def participant_of(env: Envelope) -> str | None:
    """The person an event is about: its payload's participant, or the id its stream is named by
    (``participant-<id>``, ``case-<id>``)."""
    named = env.payload.get("participant_id")
    if named:
        return str(named)
    _, _, tail = env.stream_id.partition("-")
    try:
        return str(UUID(tail))
    except ValueError:
        return None


class AccessReader:
    """Fed every record; keeps the accesses that match every filter given."""

    def __init__(self, participant: str | None = None, user: str | None = None, since: datetime | None = None):
        self.participant = participant
        self.user = user
        self.since = since
        self.found: list[Access] = []

    def feed(self, records: Iterable[Record]) -> None:
        for record in records:
            try:
                env = Envelope.from_bytes(record.value)
            except ValueError:
                continue  # verify reports it
            access = self._access(record, env)
            if access is not None and self._wanted(access):
                self.found.append(access)

    def _access(self, record: Record, env: Envelope) -> Access | None:
        where = (record.topic, record.partition, record.offset)
        if env.stream_type == READS_STREAM_TYPE:
            read = Recorded.decode(env).payload
            assert isinstance(read, DataRead)
            return Access(read.read_at, "read", str(read.participant_id), read.subject, read.role, read.agency,
                          read.what, *where)  # fmt: skip
        if env.stream_type == AUDIT_STREAM_TYPE:
            return None
        participant = participant_of(env)
        if participant is None:
            return None
        return Access(env.recorded_at, "write", participant, env.actor.id, env.actor.role, env.agency, env.event_type,
                      *where)  # fmt: skip

    def _wanted(self, access: Access) -> bool:
        return (
            (self.participant is None or access.participant == self.participant)
            and (self.user is None or access.subject == self.user)
            and (self.since is None or access.at >= self.since)
        )

    def finish(self) -> list[Access]:
        return sorted(self.found, key=lambda a: (a.at, a.topic, a.partition, a.offset))
