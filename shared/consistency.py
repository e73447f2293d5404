"""Read-your-writes across the asynchronous projections.

A command's answer carries a consistency token, ``<service>:<stream id>:<version>`` (the stream
it appended and the version it reached, in header ``X-Consistency-Token``). A read that sends the
token back waits, bounded, until every read model of the reading service that consumes that
service's topic has applied the stream up to that version (``projection_streams``, written in
the same transaction as the read model's rows). Past the bound it answers what it has, and the
response says so in ``X-Consistency: behind``; a caught-up read says ``current``.

Why polling the tracking table and not only an in-process signal: the consumers may run in
another process (``PROJECTIONS_ENABLED=false`` for the API replicas), and the table is the one
truth about what a read model holds. One indexed primary-key look-up per read model and poll.
When the read model runs in this process, its runner's next committed batch ends the pause at
once (``ProjectionRunner.next_batch``), so a read is not held for a poll interval after its
write was applied.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from shared.domain import DomainError
from shared.migrations import _quote_ident
from shared.projections import ProjectionRunner

TOKEN_HEADER = "X-Consistency-Token"
STATE_HEADER = "X-Consistency"
CURRENT, BEHIND = "current", "behind"
WAIT_BOUND_S = 2.0
_POLL_FIRST_S, _POLL_MAX_S = 0.01, 0.1

_APPLIED = "SELECT version FROM {schema}.projection_streams WHERE projection = $1 AND stream_id = $2"


class BadToken(DomainError):
    """A consistency token that is not ``<service>:<stream>:<version>``."""


@dataclass(frozen=True, slots=True)
class Token:
    service: str
    stream_id: str
    version: int

    def __str__(self) -> str:
        return f"{self.service}:{self.stream_id}:{self.version}"

    @classmethod
    def parse(cls, raw: str) -> Token:
        service, sep, rest = raw.partition(":")
        stream_id, sep2, version = rest.rpartition(":")
        if not (sep and sep2 and service and stream_id and version.isdigit()):
            raise BadToken("expected <service>:<stream>:<version>", field=TOKEN_HEADER)
        return cls(service, stream_id, int(version))


def unqualified(stream_id: str, version: int | None) -> str | None:
    """What ``respond`` puts in the header; the service's middleware adds its name in front."""
    return None if version is None else f"{stream_id}:{version}"


def read_models_of(runners: tuple[ProjectionRunner, ...], service: str) -> list[ProjectionRunner]:
    """The read models (not policies) that consume ``service``'s topic: the ones a read may see."""
    return [r for r in runners if not r.projection.side_effects and service in r.projection.topics]


async def _applied(runner: ProjectionRunner, stream_id: str) -> int:
    sql = _APPLIED.format(schema=_quote_ident(runner.schema))
    async with runner.pool.acquire() as conn:
        version = await conn.fetchval(sql, runner.projection.name, stream_id)
    return int(version) if version is not None else 0


async def wait_for(runners: list[ProjectionRunner], token: Token, bound_s: float = WAIT_BOUND_S) -> str:
    """``current`` once every runner has applied the token's stream version, ``behind`` if the
    bound passes first. A service with no read model on that topic has nothing to wait for."""
    deadline = time.monotonic() + bound_s
    pause = _POLL_FIRST_S
    pending = list(runners)
    while True:
        pending = [r for r in pending if await _applied(r, token.stream_id) < token.version]
        if not pending:
            return CURRENT
        left = deadline - time.monotonic()
        if left <= 0:
            return BEHIND
        await pending[0].next_batch(min(pause, left))
        pause = min(pause * 2, _POLL_MAX_S)
