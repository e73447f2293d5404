"""Command handlers: load -> authorise (access) -> decide (domain) -> append. Both append
reporting's own events (a closed quarter with its snapshot, an export's record); the facts
and intake's identities come in through the ports below."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from services.reporting import access
from services.reporting.commands import CloseQuarter, ProduceMonitoringExport
from services.reporting.domain import disclosure, kpis, monitoring, periods
from services.reporting.domain.journey import Journey
from services.reporting.domain.periods import DateRange, Quarter
from shared.bus import Command, Context, Result
from shared.domain import DomainError, InvalidTransition
from shared.envelope import new_id, utcnow
from shared.unit_of_work import Loaded, UnitOfWork


class FactSource(Protocol):
    """The facts read model (PostgreSQL: ``views.Reads``)."""

    async def standing(self, recorded_by: datetime | None = None) -> tuple[dict[str, Journey], int]:
        """Every participant's journey from the facts recorded by ``recorded_by`` (all, if
        None), and how many facts those are."""
        ...

    async def memberships(self) -> dict[str, tuple[str, ...]]:
        """Every project's members as configured (``plans``), else the closed list's."""
        ...

    async def lag(self) -> int:
        """Events not applied to the facts yet (a close must wait for them)."""
        ...


class IdentitySource(Protocol):
    """Intake, the only holder of identity (HTTP: ``app.IntakeIdentities``)."""

    async def identities(self, ids: Sequence[str], period: DateRange, ctx: Context) -> list[Mapping[str, Any]]:
        """The identities intake releases for these participants (raises ``IntakeRefused``)."""
        ...


class IntakeRefused(Exception):
    """Intake refused the identity request (answered with 502)."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"intake refused the identity request ({status_code})")
        self.status_code = status_code


async def close_quarter(
    cmd: CloseQuarter, uow: UnitOfWork, ctx: Context, *, facts: FactSource, now: Callable[[], datetime] = utcnow
) -> Result:
    """Freeze the quarter's figures for the caller's agency: ``cutoff`` as given (after the
    quarter, not after now) or now, the report from the facts recorded by then, appended as
    ``ReportingPeriodClosed`` + ``KpiSnapshotComputed``."""
    access.require_role(ctx.principal, access.LEADS)
    quarter = Quarter.parse(cmd.quarter, field="quarter")
    if lag := await facts.lag():
        raise InvalidTransition(f"reporting is still catching up ({lag} events behind); retry shortly")
    agency = ctx.principal.agency
    loaded = await uow.load(periods.period, periods.period_stream(agency, quarter))
    cutoff = now() if cmd.cutoff is None else periods.check_cutoff(quarter, cmd.cutoff, now())
    journeys, known = await facts.standing(cutoff)
    projects = await facts.memberships()
    events = periods.close(
        loaded.state,
        agency=agency,
        quarter=quarter,
        today=ctx.today,
        cutoff=cutoff,
        closed_by=ctx.principal.subject,
        figures=kpis.report(journeys, quarter, agency, projects=projects, rules=disclosure.Rules.from_env()),
        facts=known,
    )
    sealed = await uow.append(
        loaded, events, ctx.metadata(agency=agency, project=None), expected_version=ctx.expected_version
    )
    return Result(loaded.stream_id, sealed[-1].version, {"version": sealed[-1].version})


async def produce_export(
    cmd: ProduceMonitoringExport,
    uow: UnitOfWork,
    ctx: Context,
    *,
    facts: FactSource,
    identities: IdentitySource,
) -> Result:
    """Rows of the caller's agency for participants with active monitoring consent, merged with
    the identities intake releases; records ``MonitoringExportProduced`` (counts only).

    The body carries the rows, identities included: it is never stored, so the command takes no
    idempotency key (a retry is a new export, asked of intake again and recorded again)."""
    access.require_role(ctx.principal, access.LEADS)
    if ctx.idempotency_key is not None:
        raise DomainError("a monitoring export is not replayed: send it without a key", field="Idempotency-Key")
    period = periods.half_year(cmd.half_year)
    agency = ctx.principal.agency
    journeys, _ = await facts.standing()
    built = monitoring.rows(journeys.values(), agency, period, ctx.today)
    released = await identities.identities(sorted(built), period, ctx) if built else []
    merged = list(monitoring.merge(built, released))
    export_id = new_id()
    loaded: Loaded[bool] = Loaded.new(monitoring.export, monitoring.export_stream(export_id))
    events = monitoring.produce(
        export_id=export_id,
        agency=agency,
        period=period,
        requested_by=ctx.principal.subject,
        format=cmd.format,
        rows=len(merged),
        withheld=len(built) - len(merged),
    )
    sealed = await uow.append(loaded, events, ctx.metadata(agency=agency, project=None))
    return Result(loaded.stream_id, sealed[-1].version, {"export_id": str(export_id), "rows": merged})


HANDLERS: dict[type[Command], Callable[..., Awaitable[Result]]] = {
    CloseQuarter: close_quarter,
    ProduceMonitoringExport: produce_export,
}
