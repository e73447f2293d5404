"""``rehapro-audit``: the auditor's command line (docs/AUDIT.md). Needs the topics, the
published schemas and the pinned keys; a database only where a command says so."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
import uvloop
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from shared.audit import access as audit_access
from shared.audit import case as audit_case
from shared.audit import grants as audit_grants
from shared.audit import rebuild as audit_rebuild
from shared.audit import report as audit_report
from shared.audit import signing
from shared.audit.schemas import PublishedSchemas
from shared.audit.topics import TopicReader, audit_topics
from shared.audit.verify import Report, Verifier
from shared.kafka_auth import client_options
from shared.projections import Record
from shared.settings import load_settings

app = typer.Typer(help="rehapro auditor's toolkit: verify and rebuild from the topics alone", no_args_is_help=True)
err = Console(stderr=True)
out = Console()

BOOTSTRAP = typer.Option(..., "--bootstrap", envvar="KAFKA_BOOTSTRAP", help="Kafka bootstrap servers")
TOPICS = typer.Option(
    ..., "--topic", help="a topic to read from offset 0 (repeat for more); <x>.audit is read with <x>.events"
)


class RateColumn(ProgressColumn):
    """Events per second since the start."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = task.completed / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:,.0f} events/s", style="progress.data.speed")


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(), TimeElapsedColumn(),
        console=err, transient=False,
    )  # fmt: skip


def kafka_options() -> dict[str, Any]:
    """Connect like the services do (``shared.kafka_auth``): ``REHAPRO_KAFKA_SECURITY_PROTOCOL``,
    ``…_SASL_MECHANISM|USERNAME|PASSWORD``, ``…_SSL_CAFILE``, or the same with ``AUDIT_``."""
    return client_options(load_settings("audit"))


def load_pins(pins: list[str], pins_file: Path | None) -> dict[str, set[str]]:
    """``service=<base64 public key>`` options and a JSON file ``{"service": ["<key>", ...]}``."""
    found: dict[str, set[str]] = {}
    if pins_file is not None:
        for signer, keys in json.loads(pins_file.read_text()).items():
            found.setdefault(signer, set()).update(keys)
    for pin in pins:
        signer, sep, key = pin.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{pin!r}: expected service=<base64 public key>", param_hint="--pin")
        found.setdefault(signer, set()).add(key)
    return found


async def run_verify(bootstrap: str, topics: list[str], verifier: Verifier, show: bool) -> Report:
    await feed_topics(bootstrap, topics, verifier.feed, show, "verify")
    return verifier.finish()


def print_report(report: Report, seconds: float) -> None:
    table = Table(title="rehapro-audit verify", show_header=False)
    rate = report.events / seconds if seconds else 0.0
    for name, value in [
        ("streams", report.streams), ("events", report.events), ("duplicates (re-published)", report.duplicates),
        ("checkpoints (verified/read)", f"{report.checkpoints_verified}/{report.checkpoints}"),
        ("keys in force", ", ".join(f"{s}: {' -> '.join(k)}" for s, k in report.keys.items()) or "none"),
        ("signed events", report.signed_events),
        ("unsigned tail (events/streams)", f"{report.unsigned_events}/{report.unsigned_streams}"),
        ("seconds", f"{seconds:.2f} ({rate:,.0f} events/s)"), ("breaks", len(report.breaks)),
    ]:  # fmt: skip
        table.add_row(name, str(value))
    out.print(table)
    for b in report.breaks:
        out.print(f"[red]BREAK[/red] {b.topic}[{b.partition}]@{b.offset} stream {b.stream_id} v{b.version}: {b.reason}")


@app.command()
def verify(
    bootstrap: str = BOOTSTRAP,
    topic: list[str] = TOPICS,
    schemas: Path = typer.Option(Path("docs/schemas"), help="the published JSON Schemas (make schemas)"),
    pin: list[str] = typer.Option([], help="a pinned checkpoint key: service=<base64 public key> (repeat)"),
    pins: Path | None = typer.Option(None, help="pinned keys as JSON: {service: [public keys]}"),
    as_json: bool = typer.Option(False, "--json", help="the report as JSON on stdout"),
    quiet: bool = typer.Option(False, help="no progress bar"),
) -> None:
    """Hash chains, versions, schemas and signed checkpoints of the topics (exit 1 on a break)."""
    verifier = Verifier(PublishedSchemas.load(schemas), load_pins(pin, pins))
    started = time.perf_counter()
    report = uvloop.run(run_verify(bootstrap, topic, verifier, show=not quiet))
    seconds = time.perf_counter() - started
    if as_json:
        typer.echo(json.dumps(report.as_dict() | {"seconds": round(seconds, 3)}, indent=2))
    else:
        print_report(report, seconds)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def case(
    participant: str = typer.Argument(..., help="the participant id"),
    bootstrap: str = BOOTSTRAP,
    topic: list[str] = TOPICS,
    as_of: str = typer.Option("", help="the moment (recorded time), ISO 8601, UTC unless it says; default: now"),
    as_json: bool = typer.Option(False, "--json", help="state and timeline as JSON on stdout"),
    grant: list[Path] = typer.Option([], help="a grant file for this participant (grant-audit-key; repeat)"),
    identity: Path | None = typer.Option(None, help="the auditor's private key the grants are sealed for"),
) -> None:
    """A participant's case as it stood at ``--as-of``: the state of each of their streams (folded by
    the services' own aggregates) and every event up to then; sealed fields stay sealed, unless a
    grant for this participant, sealed for ``--identity``, opens them."""
    moment = parse_moment(as_of)
    opener = None
    if grant:
        try:
            found = [audit_grants.Grant.load(g) for g in grant]
            auditor = audit_grants.AuditorIdentity.load(identity) if identity is not None else None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise typer.BadParameter(f"cannot read a grant or the identity: {exc}", param_hint="--grant") from None
        opener, notes = audit_grants.opener_for(participant, found, auditor)
        for note in notes:
            err.print(note, markup=False)
    reader = audit_case.CaseReader(participant, moment, opener)
    uvloop.run(feed_topics(bootstrap, topic, reader.feed, show=not as_json))
    view = reader.finish()
    if as_json:
        typer.echo(json.dumps(view.as_dict(), indent=2, ensure_ascii=False))
        return
    table = Table(title=f"participant {participant} as of {moment.isoformat()}")
    for column in ("recorded at", "topic", "stream", "v", "event", "actor", "agency"):
        table.add_column(column)
    for e in view.timeline:
        actor = f"{e['actor']['id']} ({e['actor']['role']})"
        table.add_row(e["recorded_at"][:19], e["topic"], e["stream_id"], str(e["version"]), e["event_type"], actor,
                      e["agency"])  # fmt: skip
    out.print(table)
    for stream_id, state in view.state.items():
        out.print(f"{stream_id} (v{state['version']}):", markup=False)
        out.print_json(json.dumps(state["state"], ensure_ascii=False))


def parse_moment(text: str) -> datetime:
    if not text:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint="--as-of") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def feed_topics(
    bootstrap: str, topics: list[str], feed: Callable[[list[Record]], None], show: bool, what: str = "read"
) -> None:
    """Every record of the topics from offset 0, batch by batch, with a progress bar on stderr; with
    each event topic its service's audit topic (the read records), where that exists."""
    async with TopicReader(bootstrap, topics, kafka_options(), optional=audit_topics(topics)) as reader:
        with progress() as bar:
            task = bar.add_task(what, total=reader.span.total, visible=show)
            async for batch in reader.batches():
                feed(batch)
                bar.advance(task, len(batch))


@app.command()
def access(
    bootstrap: str = BOOTSTRAP,
    topic: list[str] = TOPICS,
    participant: str | None = typer.Option(None, help="one person's data (participant id)"),
    user: str | None = typer.Option(None, help="one user's reads and writes (token subject)"),
    since: str = typer.Option("", help="from this moment on (ISO 8601, UTC unless it says)"),
    as_json: bool = typer.Option(False, "--json", help="the accesses as JSON on stdout"),
) -> None:
    """Every read and write of a person's data (or by a user, or since a moment): who, role,
    agency, when, what; reads from the services' published read records."""
    if participant is None and user is None and not since:
        raise typer.BadParameter("give --participant, --user or --since")
    reader = audit_access.AccessReader(participant, user, parse_moment(since) if since else None)
    uvloop.run(feed_topics(bootstrap, topic, reader.feed, show=not as_json))
    found = reader.finish()
    if as_json:
        typer.echo(json.dumps([a.as_dict() for a in found], indent=2))
        return
    table = Table(title="rehapro-audit access")
    for column in ("at", "kind", "participant", "who", "role", "agency", "what", "where"):
        table.add_column(column)
    for a in found:
        table.add_row(a.at.isoformat(timespec="seconds"), a.kind, a.participant, a.subject, a.role, a.agency, a.what,
                      f"{a.topic}[{a.partition}]@{a.offset}")  # fmt: skip
    out.print(table)


@app.command()
def report(
    bootstrap: str = BOOTSTRAP,
    topic: list[str] = TOPICS,
    out_file: Path = typer.Option(Path("audit-report.html"), "--out", help="where to write the HTML report"),
    schemas: Path = typer.Option(Path("docs/schemas"), help="the published JSON Schemas (make schemas)"),
    pin: list[str] = typer.Option([], help="a pinned checkpoint key: service=<base64 public key> (repeat)"),
    pins: Path | None = typer.Option(None, help="pinned keys as JSON: {service: [public keys]}"),
    quiet: bool = typer.Option(False, help="no progress bar"),
) -> None:
    """``verify`` written as an HTML report: figures, breaks, coverage, keys, checkpoints (exit 1
    on a break, after writing it)."""
    verifier = Verifier(PublishedSchemas.load(schemas), load_pins(pin, pins))
    started = time.perf_counter()
    found = uvloop.run(run_verify(bootstrap, topic, verifier, show=not quiet))
    seconds = time.perf_counter() - started
    out_file.write_text(audit_report.render(found, topic, seconds, datetime.now(UTC)))
    typer.echo(f"wrote {out_file}: {found.events} events, {len(found.breaks)} breaks")
    if not found.ok:
        raise typer.Exit(1)


def parse_topics(topics: list[str]) -> dict[str, str]:
    """``service=topic`` options: where to read a source service's events (e.g. a mirror)."""
    found = {}
    for item in topics:
        service, sep, name = item.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{item!r}: expected service=topic", param_hint="--source-topic")
        found[service] = name
    return found


@app.command()
def rebuild(
    projection: str = typer.Option(..., help="service.projection, e.g. casework.cases"),
    into: str = typer.Option(..., help="scratch database URL (the projection's schema there is replaced)"),
    bootstrap: str = BOOTSTRAP,
    topic_prefix: str = typer.Option("", help="prefix of the topic names, as the services were given"),
    source_topic: list[str] = typer.Option([], help="service=topic: read that service's events there"),
) -> None:
    """Replay a projection from offset 0 of the topics into a scratch database (the services'
    own projection runner and handlers)."""
    try:
        service, proj = audit_rebuild.find_projection(projection)
    except LookupError as exc:
        raise typer.BadParameter(str(exc), param_hint="--projection") from None
    settings = audit_rebuild.scratch_settings(service, into, bootstrap, topic_prefix, parse_topics(source_topic))
    with err.status(f"rebuilding {projection} from {', '.join(settings.source_topic(t) for t in proj.topics)}"):
        stats = uvloop.run(audit_rebuild.rebuild_into(settings, proj))
    typer.echo(json.dumps({
        "projection": projection, "schema": stats.schema, "events": stats.events,
        "seconds": round(stats.seconds, 3), "events_per_s": round(stats.events_per_s),
    }, indent=2))  # fmt: skip


@app.command()
def diff(
    projection: str = typer.Option(..., help="service.projection, e.g. casework.cases"),
    live: str = typer.Option(..., help="the live service database URL"),
    rebuilt: str = typer.Option(..., help="the database ``rebuild`` wrote into"),
    as_json: bool = typer.Option(False, "--json", help="the differences as JSON on stdout"),
) -> None:
    """Compare a rebuilt projection with the live one, table by table, row by row (exit 1 on
    any difference)."""
    try:
        service, proj = audit_rebuild.find_projection(projection)
    except LookupError as exc:
        raise typer.BadParameter(str(exc), param_hint="--projection") from None
    schema = audit_rebuild.scratch_settings(service, live, "").schema_for(proj.name)
    tables = uvloop.run(audit_rebuild.diff(live, rebuilt, schema))
    if not tables:
        raise typer.BadParameter(f"schema {schema} has no tables in either database", param_hint="--projection")
    if as_json:
        typer.echo(json.dumps([{"table": t.table, "only_live": t.only_live, "only_rebuilt": t.only_rebuilt,
                                "samples": t.samples} for t in tables], indent=2))  # fmt: skip
    else:
        table = Table(title=f"rehapro-audit diff {projection} ({schema})")
        for column in ("table", "only live", "only rebuilt", "equal"):
            table.add_column(column)
        for t in tables:
            table.add_row(t.table, str(t.only_live), str(t.only_rebuilt), "yes" if t.equal else "[red]NO[/red]")
        out.print(table)
        for t in tables:
            for sample in t.samples:
                for side, row in sample.items():
                    out.print(f"{t.table} {side.replace('_', ' ')}: {row}", markup=False, soft_wrap=True)
    if not all(t.equal for t in tables):
        raise typer.Exit(1)


@app.command("rotate-key")
def rotate_key(
    key_file: Path = typer.Option(..., help="the service's checkpoint key ring (created if missing)"),
) -> None:
    """Operators: add a new checkpoint key to a service's ring; the service publishes it, endorsed by
    the previous key, before its next checkpoint. Prints the new public key (pin the first one)."""
    key = signing.rotate(key_file)
    typer.echo(json.dumps({"key_id": key.key_id, "public_key": key.public_key}))


@app.command("public-keys")
def public_keys(key_file: Path = typer.Option(..., help="a checkpoint key ring")) -> None:
    """The public keys of a ring, oldest first (what auditors pin)."""
    keys: list[dict[str, Any]] = [
        {"key_id": k.key_id, "public_key": k.public_key} for k in signing.load_keyring(key_file)
    ]
    typer.echo(json.dumps(keys, indent=2))


@app.command("identity")
def identity_cmd(
    out: Path = typer.Option(..., help="where to write the new private key (0600; must not exist)"),
) -> None:
    """Auditors: a new X25519 identity for key grants. Prints the public half (save it as
    auditor.pub and hand it to the data protection officer); the private key stays in ``--out``."""
    try:
        made = audit_grants.AuditorIdentity.create(out)
    except FileExistsError:
        raise typer.BadParameter(f"{out} exists", param_hint="--out") from None
    typer.echo(json.dumps(made.public_document()))


@app.command()
def pins(
    key_file: str = typer.Option(..., help="the services' key rings, with {service} in the path"),
    service: list[str] = typer.Option(list(audit_rebuild.SERVICES), help="services to pin (repeat)"),
) -> None:
    """A pins file for ``verify --pins``: each service's first public key (later ones must be
    endorsed). Hand it to auditors out of band, like any trust anchor."""
    found = {s: [signing.load_keyring(Path(key_file.format(service=s)))[0].public_key] for s in service}
    typer.echo(json.dumps(found, indent=2))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
