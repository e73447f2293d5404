"""Reactions of casework to other services' events (process managers).

They append casework's own events in the same transaction that stores the consumer position,
so a redelivered enrolment can never open a second case.
"""

from __future__ import annotations

from services.casework import domain
from shared.contracts.intake import ParticipantEnrolled
from shared.db import Conn
from shared.envelope import Actor, Envelope
from shared.eventstore import CommandContext, EventStore
from shared.projections import Projection

SYSTEM = Actor(id="casework", role="service")

enrolments = Projection(name="enrolments", sql=[], topics=["intake"], side_effects=True)
_store = EventStore()


@enrolments.on("ParticipantEnrolled")
async def open_case(conn: Conn, env: Envelope) -> None:
    enrolled = ParticipantEnrolled.model_validate(env.payload)
    stream = domain.stream_id(enrolled.participant_id)
    version = await conn.fetchval("SELECT max(version) FROM events WHERE stream_id = $1", stream) or 0
    if version:
        return  # the case exists already (replay of an old enrolment)
    await _store.append(
        conn,
        stream_id=stream,
        stream_type=domain.case.stream_type,
        expected_version=0,
        events=domain.open_case(domain.case.initial(), enrolled),
        context=CommandContext(
            actor=SYSTEM,
            agency=enrolled.agency,
            project=enrolled.project,
            correlation_id=env.correlation_id,
            causation_id=env.event_id,
        ),
    )
