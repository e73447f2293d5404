"""Command line of every service: serve, migrate, rebuild, verify, dlq, token, schemas.

``python -m services.<name> --help``; the shared commands are also at ``python -m shared.cli``.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import typer
import uvicorn
import uvloop
from fastapi import FastAPI

from shared import consent, keyprovider, parking
from shared import rebuild as replay
from shared.audit.grants import add_grant_command
from shared.auth import issue_token, signing_keys
from shared.contracts import registry
from shared.crypto import SubjectKeys
from shared.envelope import Actor, Envelope, verify_chain
from shared.migrations import EVENTSTORE_SQL, migrate
from shared.projections import Projection, ProjectionRunner
from shared.runtime import Runtime, ServiceDefinition
from shared.settings import ServiceSettings, load_settings
from shared.vocabulary import Role


def make_cli(definition: ServiceDefinition, build: Callable[..., FastAPI]) -> typer.Typer:
    """The service's command line: its own commands, then the shared ones."""
    app = typer.Typer(help=f"rehapro {definition.name} service", no_args_is_help=True)

    def settings() -> ServiceSettings:
        return load_settings(definition.name)

    _add_serve(app, definition, build)
    _add_migrate(app, definition)
    _add_rebuild(app, definition)
    _add_verify(app, settings)
    _add_kek_rotation(app, definition, settings)
    add_grant_command(app, definition)  # grant-audit-key (shared/audit/grants.py)
    app.add_typer(_dlq_cli(definition), name="dlq")
    app.command()(token)
    app.command("rotate-signing-key")(rotate_signing_key)
    app.command()(schemas)
    return app


def _add_serve(app: typer.Typer, definition: ServiceDefinition, build: Callable[..., FastAPI]) -> None:
    @app.command()
    def serve(host: str | None = None, port: int | None = None) -> None:
        """Run the HTTP API, the outbox relay and the projection consumers."""
        from shared.logs import configure_logging

        s = load_settings(definition.name)
        configure_logging(definition.name, s.log_level, s.log_json)
        uvicorn.run(
            build(),
            host=host or s.http_host,
            port=port or s.http_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=20,
        )


def _add_migrate(app: typer.Typer, definition: ServiceDefinition) -> None:
    @app.command("migrate")
    def migrate_cmd() -> None:
        """Apply the event store, service and projection migrations, then exit."""

        async def run() -> None:
            rt = Runtime(load_settings(definition.name, migrate_on_start=True), definition)
            connected = await rt.connect()
            await connected.pool.close()

        uvloop.run(run())
        typer.echo("migrated")


def _add_rebuild(app: typer.Typer, definition: ServiceDefinition) -> None:
    @app.command("rebuild")
    def rebuild_cmd(
        projection: str = typer.Argument(..., help="projection name"),
        source: str = typer.Option("kafka", help="kafka (offset 0 of the topics) or store (own event store)"),
        swap: bool = typer.Option(False, help="replace the live projection (stop the service first)"),
        workers: int = typer.Option(1, min=1, help="parallel worker processes (stream-local projections only)"),
        live: bool = typer.Option(
            False, help="while the service runs: replay, catch up with the live positions, swap atomically (kafka)"
        ),
    ) -> None:
        """Replay a projection into a fresh schema, compare it with the live one, optionally swap
        (``--live``: without stopping anything)."""
        s = load_settings(definition.name)
        consent.install_index_key(s.name_index_key)  # intake's register digests names as the service does
        proj = _replayable(definition, projection, workers)
        if live and (source != "kafka" or swap):
            raise typer.BadParameter("--live replays from kafka and swaps itself (no --source store, no --swap)")
        if live:
            report = uvloop.run(_rebuild_live(s, proj, workers))
        else:
            report = uvloop.run(_rebuild(s, proj, source=source, swap=swap, workers=workers))
        typer.echo(json.dumps(report, indent=2))


def _replayable(definition: ServiceDefinition, name: str, workers: int) -> Projection:
    """The projection called ``name``, if it can be replayed by ``workers`` processes."""
    matches = [p for p in definition.projections if p.name == name]
    if not matches:
        raise typer.BadParameter(f"unknown projection; known: {[p.name for p in definition.projections]}")
    proj = matches[0]
    if proj.side_effects:
        raise typer.BadParameter(f"{name} is a policy (it appends events); it is not replayed")
    if workers > 1 and not proj.stream_local:
        raise typer.BadParameter(f"{name} is not stream-local: one worker only", param_hint="--workers")
    return proj


async def _rebuild(s: ServiceSettings, proj: Projection, *, source: str, swap: bool, workers: int) -> dict[str, object]:
    """Replay into ``<schema>_rebuild``, compare with the live schema, swap if asked: the report."""
    live, fresh = s.schema_for(proj.name), s.schema_for(proj.name) + "_rebuild"
    stats = await replay.rebuild_parallel(s, proj, fresh, source=source, workers=workers)
    diffs = await replay.compare(s, proj, live, fresh)
    if swap:
        await replay.swap(s, live, fresh)
    return {
        "projection": proj.name,
        "events": stats.events,
        "seconds": round(stats.seconds, 3),
        "events_per_s": round(stats.events_per_s),
        "workers": workers,
        "rows_differing_from_live": diffs,
        "swapped": swap,
    }


async def _rebuild_live(s: ServiceSettings, proj: Projection, workers: int) -> dict[str, object]:
    """Rebuild and swap while the service serves and consumes: the report."""
    done = await replay.rebuild_live(s, proj, workers=workers)
    return {
        "projection": proj.name,
        "events": done.stats.events,
        "seconds": round(done.stats.seconds, 3),
        "events_per_s": round(done.stats.events_per_s),
        "workers": workers,
        "caught_up": done.caught_up,
        "catch_up_rounds": done.rounds,
        "swap_attempts": done.swap_attempts,
        "applied_under_lock": done.applied_under_lock,
        "locked_ms": round(done.locked_seconds * 1000, 1),
        "swapped": True,
    }


def _add_verify(app: typer.Typer, settings: Callable[[], ServiceSettings]) -> None:
    @app.command()
    def verify() -> None:
        """Check every stream's hash chain in the event store (exit 1 on any break)."""
        streams, events, breaks = uvloop.run(_verify_chains(settings().database_url))
        typer.echo(json.dumps({"streams": streams, "events": events, "breaks": breaks}, indent=2))
        if breaks:
            raise typer.Exit(1)


async def _verify_chains(database_url: str) -> tuple[int, int, list[dict[str, object]]]:
    """(streams, events, breaks) over the whole event store, read stream by stream in one
    cursor so that memory holds one stream at a time."""
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn, EVENTSTORE_SQL)
        streams, events, breaks = 0, 0, []
        current: list[Envelope] = []
        async with conn.transaction():
            async for row in conn.cursor("SELECT stream_id, envelope FROM events ORDER BY stream_id, version"):
                env = Envelope.from_bytes(row["envelope"])
                if current and current[-1].stream_id != env.stream_id:
                    breaks += [b.model_dump() for b in verify_chain(current)]
                    streams += 1
                    current = []
                current.append(env)
                events += 1
        if current:
            breaks += [b.model_dump() for b in verify_chain(current)]
            streams += 1
        return streams, events, breaks
    finally:
        await conn.close()


def _add_kek_rotation(app: typer.Typer, definition: ServiceDefinition, settings: Callable[[], ServiceSettings]) -> None:
    """``rotate-kek`` then ``rewrap-keys``: the two steps of a KEK rotation."""

    @app.command("rotate-kek")
    def rotate_kek(label: str = typer.Option("", help="pkcs11: label of the new KEK made in the token")) -> None:
        """KEK rotation, first step: a new KEK (file: added and made current; pkcs11: made in the
        token, then set PKCS11_KEY to its label on every replica). Then run ``rewrap-keys``."""
        s = settings()
        if s.kek_provider == "file":
            typer.echo(keyprovider.LocalKeyProvider.from_file(Path(s.kek_file)).rotate())
        elif s.kek_provider == "pkcs11":
            if not label:
                raise typer.BadParameter("--label is required for pkcs11")
            hsm = keyprovider.Pkcs11KeyProvider(s.pkcs11_module, s.pkcs11_token, s.pkcs11_pin, s.pkcs11_key)
            typer.echo(hsm.generate(label))
        else:
            raise typer.BadParameter(f"kek_provider {s.kek_provider}: rotate the KEK where it is kept")

    @app.command("rewrap-keys")
    def rewrap_keys() -> None:
        """KEK rotation, second step: rewrap every data key under the current KEK (events untouched).
        First make the new KEK current (a new key in the HSM named by PKCS11_KEY, or ``rotate`` in
        the KEK file); retire the old KEK once this reports 0 left."""
        if not definition.subject_keys:
            raise typer.BadParameter(f"{definition.name} holds no subject keys")
        typer.echo(json.dumps(uvloop.run(_rewrap(Runtime(settings(), definition)))))


async def _rewrap(rt: Runtime) -> dict[str, object]:
    """Rewrap every subject key under the current KEK; connecting installs the configured
    provider and wraps legacy keys first."""
    connected = await rt.connect()
    try:
        keys = SubjectKeys(keyprovider.installed())
        async with connected.pool.acquire() as conn:
            rewrapped = await keys.rewrap(conn)
        return {"rewrapped": rewrapped, "kek": keys.provider.current}
    finally:
        await connected.pool.close()


def _dlq_cli(definition: ServiceDefinition) -> typer.Typer:
    """``dlq list|show|retry|skip``: the operator's procedure for parked records."""
    dlq = typer.Typer(help="parked (dead-lettered) records of the projections", no_args_is_help=True)
    run_with = _dlq_runner(definition)
    _add_dlq_list(dlq, run_with)
    _add_dlq_show(dlq, run_with)
    _add_dlq_retry(dlq, run_with)
    _add_dlq_skip(dlq, run_with)
    return dlq


DlqWork = Callable[[Runtime, list[ProjectionRunner]], Awaitable[object]]
DlqRunner = Callable[[str | None, DlqWork], None]


def _dlq_runner(definition: ServiceDefinition) -> DlqRunner:
    """What every ``dlq`` command does around its own work: connect (migrating first), pick the
    projection's runners (``None``: all), print the result as JSON."""

    def run_with(projection: str | None, work: DlqWork) -> None:
        async def run() -> object:
            rt = Runtime(load_settings(definition.name, migrate_on_start=True), definition)
            connected = await rt.connect()
            try:
                runners = [r for r in connected.runners if projection in (None, r.projection.name)]
                if not runners:
                    known = [r.projection.name for r in connected.runners]
                    raise typer.BadParameter(f"unknown projection {projection}; known: {known}")
                return await work(rt, runners)
            finally:
                await connected.pool.close()

        typer.echo(json.dumps(uvloop.run(run()), indent=2, default=str))

    return run_with


def _add_dlq_list(dlq: typer.Typer, run_with: DlqRunner) -> None:
    @dlq.command("list")
    def list_cmd(
        projection: str | None = typer.Option(None, help="one projection (default: all)"),
        everything: bool = typer.Option(False, "--all", help="also those already retried or skipped"),
    ) -> None:
        """Parked records per projection."""

        async def work(_: Runtime, runners: list[ProjectionRunner]) -> object:
            return {r.projection.name: await parking.list_parked(r, everything=everything) for r in runners}

        run_with(projection, work)


def _add_dlq_show(dlq: typer.Typer, run_with: DlqRunner) -> None:
    @dlq.command("show")
    def show_cmd(parked_id: int, projection: str = typer.Option(..., help="projection")) -> None:
        """One parked record with its bytes and error."""

        async def work(_: Runtime, runners: list[ProjectionRunner]) -> object:
            return await parking.show_parked(runners[0], parked_id)

        run_with(projection, work)


def _add_dlq_retry(dlq: typer.Typer, run_with: DlqRunner) -> None:
    @dlq.command("retry")
    def retry_cmd(
        projection: str = typer.Option(..., help="projection"),
        parked_id: list[int] = typer.Option([], "--id", help="only these ids (default: every parked record)"),
    ) -> None:
        """Re-drive parked records through the runner (after a fix); failures stay parked."""

        async def work(_: Runtime, runners: list[ProjectionRunner]) -> object:
            result = await runners[0].retry(parked_id or None)
            return {"applied": result.applied, "ignored": result.ignored, "duplicates": result.duplicates,
                    "still_parked": [{"offset": p.record.offset, "reason": p.reason, "error": p.error}
                                     for p in result.parked]}  # fmt: skip

        run_with(projection, work)


def _add_dlq_skip(dlq: typer.Typer, run_with: DlqRunner) -> None:
    @dlq.command("skip")
    def skip_cmd(
        parked_id: int,
        projection: str = typer.Option(..., help="projection"),
        reason: str = typer.Option(..., help="why it is never to be applied (recorded as an event)"),
        actor: str = typer.Option(getpass.getuser(), help="who decides (the event's actor)"),
        agency: str = typer.Option("platform", help="agency of the operator"),
    ) -> None:
        """Never apply a parked record; the decision is appended to the service's event store."""

        async def work(rt: Runtime, runners: list[ProjectionRunner]) -> object:
            who = Actor(id=actor, role="operator")
            event = await parking.skip_parked(runners[0], rt.store, parked_id, reason=reason, actor=who, agency=agency)
            return event.model_dump(mode="json")

        run_with(projection, work)


def token(
    subject: str = typer.Option(..., help="user id"),
    role: Role = typer.Option(..., help="role"),
    agency: str = typer.Option(..., help="agency, e.g. jc-en"),
) -> None:
    """Print a development bearer token signed with the configured key."""
    s = load_settings("cli")
    typer.echo(issue_token(subject=subject, role=role, agency=agency, keys=signing_keys(s)))


def rotate_signing_key(keep: int = typer.Option(2, help="signing keys kept in the published JWKS")) -> None:
    """Development: a new local signing key; the previous ones stay in the JWKS until they drop out."""
    typer.echo(signing_keys(load_settings("cli")).rotate(keep))


def schemas(out: Path = typer.Option(Path("docs/schemas"), help="output folder")) -> None:
    """Write the JSON Schema of the envelope and of every event contract."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "envelope.json").write_text(json.dumps(Envelope.model_json_schema(), indent=2) + "\n")
    for model in registry.models():
        schema = model.model_json_schema()
        schema["x-event-type"] = model.event_type
        schema["x-schema-version"] = model.schema_version
        schema["x-service"] = model.service
        schema["x-health-data"] = model.health_data
        target = out / model.service / f"{model.event_type}.v{model.schema_version}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
    typer.echo(f"wrote {len(registry.models()) + 1} schemas to {out}")


cli = typer.Typer(help="rehapro shared tools", no_args_is_help=True)
cli.command()(token)
cli.command()(schemas)
cli.command("rotate-signing-key")(rotate_signing_key)

if __name__ == "__main__":
    cli()
