"""``rehapro-audit``: the auditor's command line (docs/AUDIT.md). Needs the topics, the
published schemas and the pinned keys; a database only where a command says so."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
import uvloop
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from shared.audit import signing
from shared.audit.schemas import PublishedSchemas
from shared.audit.topics import TopicReader
from shared.audit.verify import Report, Verifier

app = typer.Typer(help="rehapro auditor's toolkit: verify and rebuild from the topics alone", no_args_is_help=True)
err = Console(stderr=True)
out = Console()

BOOTSTRAP = typer.Option(..., "--bootstrap", envvar="KAFKA_BOOTSTRAP", help="Kafka bootstrap servers")
TOPICS = typer.Option(..., "--topic", help="a topic to read from offset 0 (repeat for more)")


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
    async with TopicReader(bootstrap, topics) as reader:
        with progress() as bar:
            task = bar.add_task("verify", total=reader.span.total, visible=show)
            async for batch in reader.batches():
                verifier.feed(batch)
                bar.advance(task, len(batch))
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
