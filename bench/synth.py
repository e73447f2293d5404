"""Synthetic but valid event history for replay and raw-limit runs.

One real sealed envelope per event type is the template; each synthetic participant gets its
own ids and stream ids. Envelope bytes are what the relay would publish, byte for byte in shape
and size (hashes are recomputed per event, so the chains are valid too).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import orjson

from shared.contracts.base import DomainEvent
from shared.contracts.casework import CaseOpened, PhaseEntered
from shared.contracts.common import ConsentPurpose, Phase
from shared.contracts.intake import ConsentGranted, EligibilityChecked, ParticipantEnrolled, ReferralReceived
from shared.crypto import seal_with
from shared.envelope import GENESIS_HASH, Actor, new_id
from shared.eventstore import CommandContext, seal

NOW = datetime(2024, 4, 1, 9, 0, tzinfo=UTC)
ACTOR = Actor(id="bench", role="case-manager")
_KEY = bytes(32)
_PID = UUID(int=1)
_CONTEXT = CommandContext(actor=ACTOR, agency="jc-en", project="pro-aktiv", correlation_id=_PID)


def referral(participant_id: UUID | None = None, **fields: Any) -> ReferralReceived:
    """A valid referral with plain defaults, for the bench's template and for tests: each caller
    names only the fields its run depends on."""
    defaults: dict[str, Any] = {
        "source_agency": "jc-en",
        "project": "pro-aktiv",
        "referred_by": "cm-1",
        "received_on": date(2026, 3, 1),
        "age_band": "35-44",
        "sex": "female",
        "sealed_identity": "x",
        "sealed_reason": "y",
    }
    return ReferralReceived(participant_id=participant_id or new_id(), **(defaults | fields))


def _template(event: DomainEvent, stream_id: str, stream_type: str, version: int) -> dict[str, Any]:
    """The envelope the event store would seal for ``event`` (recorded at ``NOW``, as the rows are)."""
    [env] = seal(
        [event],
        stream_id=stream_id,
        stream_type=stream_type,
        after_version=version - 1,
        head_hash=GENESIS_HASH,
        context=_CONTEXT,
        occurred_at=NOW,
    )
    return env.model_copy(update={"recorded_at": NOW}).model_dump(mode="json")


def _participant(event: DomainEvent, version: int) -> dict[str, Any]:
    return _template(event, f"participant-{_PID}", "participant", version)


def _case(event: DomainEvent, version: int) -> dict[str, Any]:
    return _template(event, f"case-{_PID}", "case", version)


def _consent(purpose: ConsentPurpose, version: int, scope: str | None = None) -> dict[str, Any]:
    granted = ConsentGranted(
        participant_id=_PID, consent_id=_PID, purpose=purpose, scope=scope, granted_on=date(2024, 3, 9), form="written"
    )
    return _participant(granted, version)


_REFERRAL = _participant(
    referral(
        _PID,
        referred_by="bench",
        received_on=date(2024, 3, 1),
        age_band="45-54",
        sealed_identity=seal_with(_KEY, {"first_name": "Erika", "last_name": "Mustermann"}, str(_PID)),
        sealed_reason=seal_with(_KEY, "Rückenschmerzen, längere Arbeitsunfähigkeit", str(_PID)),
    ),
    1,
)
_ELIGIBLE = _participant(
    EligibilityChecked(
        participant_id=_PID,
        checked_on=date(2024, 3, 9),
        voluntary=True,
        willing_to_address_impairments=True,
        declined_lta=False,
        eligible=True,
        sealed_findings="",
    ),
    2,
)
_CONSENT = _consent(ConsentPurpose.PARTICIPATION, 3)
_DRV_CONSENT = _consent(ConsentPurpose.DRV_EXCHANGE, 4, scope="drv-westfalen")
_ENROLLED = _participant(
    ParticipantEnrolled(
        participant_id=_PID,
        project="pro-aktiv",
        agency="jc-en",
        start_date=date(2024, 4, 1),
        age_band="45-54",
        sex="female",
    ),
    5,
)
_OPENED = _case(
    CaseOpened(case_id=_PID, participant_id=_PID, agency="jc-en", project="pro-aktiv", opened_on=date(2024, 4, 1)), 1
)
_PHASE = _case(PhaseEntered(case_id=_PID, phase=Phase.EINSTIEG, entered_on=date(2024, 4, 1)), 2)


def _seal(data: dict[str, Any]) -> tuple[str, bytes]:
    body = orjson.dumps({k: v for k, v in data.items() if k != "hash"}, option=orjson.OPT_SORT_KEYS)
    data["hash"] = hashlib.sha256(body).hexdigest()
    return data["hash"], orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def _event(template: dict[str, Any], pid: str, stream_id: str, prev: str) -> dict[str, Any]:
    data = dict(template)
    data["event_id"] = str(uuid4())
    data["correlation_id"] = data["event_id"]
    data["stream_id"] = stream_id
    data["prev_hash"] = prev
    payload = dict(template["payload"])
    if "participant_id" in payload:
        payload["participant_id"] = pid
    for key in ("case_id", "consent_id"):
        if key in payload:
            payload[key] = pid if key == "case_id" else str(uuid4())
    data["payload"] = payload
    return data


class Row:
    """One synthetic event: where it goes and its stored/published form."""

    __slots__ = ("envelope", "event_id", "event_type", "hash", "service", "stream_id", "stream_type", "version")

    def __init__(self, service: str, data: dict[str, Any]) -> None:
        self.service = service
        self.event_id = UUID(data["event_id"])
        self.stream_id: str = data["stream_id"]
        self.stream_type: str = data["stream_type"]
        self.version: int = data["version"]
        self.event_type: str = data["event_type"]
        self.hash, self.envelope = _seal(data)

    def record(self) -> tuple[Any, ...]:
        """The columns of ``events`` that an insert sets, in table order."""
        return (
            self.event_id,
            self.stream_id,
            self.stream_type,
            self.version,
            self.event_type,
            NOW,
            self.hash,
            self.envelope,
        )


INTAKE_JOURNEY = (_REFERRAL, _ELIGIBLE, _CONSENT, _DRV_CONSENT, _ENROLLED)
CASE_OPENING = (_OPENED, _PHASE)


def _stream(service: str, templates: tuple[dict[str, Any], ...], pid: str, stream_id: str) -> Iterator[Row]:
    prev = GENESIS_HASH
    for template in templates:
        row = Row(service, _event(template, pid, stream_id, prev))
        prev = row.hash
        yield row


def history(events: int) -> Iterator[Row]:
    """About ``events`` events, 7 per participant as the system writes them: referral,
    eligibility, participation and drv-exchange consent, enrolment (intake), then the case
    opening and Einstieg (casework)."""
    for _ in range(max(1, events // 7)):
        pid = str(uuid4())
        yield from _stream("intake", INTAKE_JOURNEY, pid, f"participant-{pid}")
        yield from _stream("casework", CASE_OPENING, pid, f"case-{pid}")


def cases(events: int) -> Iterator[Row]:
    """About ``events`` casework events: per case CaseOpened and PhaseEntered (its own store)."""
    for _ in range(max(1, events // 2)):
        pid = str(uuid4())
        yield from _stream("casework", CASE_OPENING, pid, f"case-{pid}")


def sample_envelope() -> bytes:
    """A typical published envelope (a referral: the largest event of the mix)."""
    pid = str(uuid4())
    return Row("intake", _event(_REFERRAL, pid, f"participant-{pid}", GENESIS_HASH)).envelope


def enrolment_envelope() -> bytes:
    """A typical enrolment envelope (the event the append comparison writes)."""
    pid = str(uuid4())
    return Row("intake", _event(_ENROLLED, pid, f"participant-{pid}", GENESIS_HASH)).envelope
