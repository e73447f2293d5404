"""``verify`` on real topics: an intact history passes with its checkpoints verified and the
unsigned tail counted; every kind of tampering in a copy of the topic is found at its offset."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import pytest

from shared.audit.checkpoints import Checkpointer, CheckpointSettings, checkpoint_stream
from shared.audit.merkle import merkle_root
from shared.audit.report import render
from shared.audit.signing import SigningKey
from shared.envelope import Envelope
from shared.eventstore import PostgresEventStore
from shared.migrations import EVENTSTORE_SQL, migrate
from shared.projections import Record
from tests import support
from tests.audit.topics import (
    Located,
    append_events,
    edited,
    envelopes,
    publish_all,
    read_topic,
    verify,
    with_value,
    write_copy,
)

STREAMS, PER_STREAM = 12, 4
SIGNER = "test"


@dataclass
class Source:
    topic: str
    records: dict[int, list[Record]]
    key: SigningKey

    @property
    def pins(self) -> dict[str, set[str]]:
        return {SIGNER: {self.key.public_key}}


async def write_all_checkpoints(checkpointer: Checkpointer) -> int:
    written = 0
    while await checkpointer.write() is not None:
        written += 1
    return written


@pytest.fixture(scope="module")
async def source() -> AsyncIterator[Source]:
    """12 streams of 4 events, checkpointed every 10 events, then one unsigned event."""
    name = support.run_id()
    pool = await asyncpg.create_pool(await support.create_database(name), min_size=1, max_size=4)
    try:
        async with pool.acquire() as conn:
            await migrate(conn, EVENTSTORE_SQL)
        store = PostgresEventStore(pool)
        await append_events(store, STREAMS, PER_STREAM)
        key = SigningKey.generate()
        settings = CheckpointSettings(checkpoint_events=10)
        assert await write_all_checkpoints(Checkpointer(store, SIGNER, [key], settings)) >= 5
        await append_events(store, 1, 1, start=PER_STREAM)  # stream-0 v5: after the last checkpoint
        topic = f"{name}.test.events"
        await support.create_topics([topic])
        await publish_all(pool, topic)
        yield Source(topic, await read_topic(topic), key)
    finally:
        await pool.close()
        await support.drop_database(name)


def target(src: Source) -> tuple[Located, Located]:
    """Version 2 of a stream (and its version 3) in a partition without the checkpoints."""
    located = envelopes(src.records)
    checkpoint_partition = next(x.partition for x in located if x.envelope.stream_id == checkpoint_stream(SIGNER))
    v2 = next(
        x for x in located
        if x.partition != checkpoint_partition and x.envelope.stream_type == "test" and x.envelope.version == 2
    )  # fmt: skip
    v3 = next(x for x in located if x.envelope.stream_id == v2.envelope.stream_id and x.envelope.version == 3)
    return v2, v3


def copy_of(src: Source) -> dict[int, list[Record]]:
    return {p: list(rows) for p, rows in src.records.items()}


def rehashed_from(records: dict[int, list[Record]], start: Located, changed: Envelope) -> None:
    """Replace ``start`` with ``changed`` and re-hash the rest of its stream so the chain holds."""
    rows = records[start.partition]
    prev = changed.sealed()
    rows[start.index] = with_value(rows[start.index], prev)
    for i in range(start.index + 1, len(rows)):
        env = Envelope.from_bytes(rows[i].value)
        if env.stream_id == prev.stream_id:
            prev = env.model_copy(update={"prev_hash": prev.hash}).sealed()
            rows[i] = with_value(rows[i], prev)


def edit(src: Source) -> tuple[dict[int, list[Record]], tuple[int, int], str]:
    v2, _ = target(src)
    records = copy_of(src)
    rows = records[v2.partition]
    rows[v2.index] = with_value(rows[v2.index], edited(v2.envelope, lambda d: d["payload"].update(reason="forged")))
    return records, (v2.partition, v2.index), "content does not match its hash"


def delete(src: Source) -> tuple[dict[int, list[Record]], tuple[int, int], str]:
    v2, v3 = target(src)
    records = copy_of(src)
    del records[v2.partition][v2.index]
    return records, (v3.partition, v3.index - 1), "expected version 2"


def reorder(src: Source) -> tuple[dict[int, list[Record]], tuple[int, int], str]:
    v2, v3 = target(src)
    records = copy_of(src)
    rows = records[v2.partition]
    rows[v2.index], rows[v3.index] = rows[v3.index], rows[v2.index]
    return records, (v2.partition, v2.index), "expected version 2"


def insert(src: Source) -> tuple[dict[int, list[Record]], tuple[int, int], str]:
    """A well-formed version 2, linked to version 1, slipped in before the real one."""
    v2, _ = target(src)
    records = copy_of(src)
    forged = v2.envelope.model_copy(update={"payload": {**v2.envelope.payload, "reason": "inserted"}}).sealed()
    rows = records[v2.partition]
    rows.insert(v2.index, with_value(rows[v2.index], forged))
    return records, (v2.partition, v2.index), "differs from the event signed by checkpoint"


def truncate(src: Source) -> tuple[dict[int, list[Record]], tuple[int, int], str]:
    v2, _ = target(src)
    records = copy_of(src)
    del records[v2.partition][v2.index :]
    return records, (v2.partition, v2.index), "is missing"


def forged_stream(src: Source) -> tuple[dict[int, list[Record]], tuple[int, int], str]:
    """Edited and re-hashed to the end of its stream: every chain holds, the signature does not."""
    v2, _ = target(src)
    records = copy_of(src)
    changed = v2.envelope.model_copy(update={"payload": {**v2.envelope.payload, "reason": "rewritten"}})
    rehashed_from(records, v2, changed)
    return records, (v2.partition, v2.index), "differs from the event signed by checkpoint"


def off_contract(src: Source) -> tuple[dict[int, list[Record]], tuple[int, int], str]:
    """A field its published schema does not have (re-hashed, so only the schema says so)."""
    v2, _ = target(src)
    records = copy_of(src)
    changed = v2.envelope.model_copy(update={"payload": {**v2.envelope.payload, "diagnosis": "F32.1"}})
    rehashed_from(records, v2, changed)
    return records, (v2.partition, v2.index), "ParkedRecordSkipped v1 schema: payload must not contain"


def forged_checkpoint(src: Source) -> tuple[dict[int, list[Record]], tuple[int, int], str]:
    """The forger also rewrites the checkpoint's hashes and root (and re-hashes its chain): only
    the signature is left to give it away."""
    v2, _ = target(src)
    records, _, _ = forged_stream(src)
    new_hash = Envelope.from_bytes(records[v2.partition][v2.index].value).hash
    cp = next(
        x for x in envelopes(src.records)
        if x.envelope.stream_id == checkpoint_stream(SIGNER)
        and any(s["stream_id"] == v2.envelope.stream_id and s["from_version"] <= 2 <= s["to_version"]
                for s in x.envelope.payload["streams"])
    )  # fmt: skip
    payload = copy.deepcopy(cp.envelope.payload)
    for covered in payload["streams"]:
        if covered["stream_id"] == v2.envelope.stream_id and covered["from_version"] <= 2 <= covered["to_version"]:
            covered["hashes"][2 - covered["from_version"]] = new_hash
    payload["merkle_root"] = merkle_root([h for s in payload["streams"] for h in s["hashes"]])
    rehashed_from(records, cp, cp.envelope.model_copy(update={"payload": payload}))
    return records, (cp.partition, cp.index), "signature does not verify"


@pytest.mark.parametrize(
    "tamper",
    [edit, delete, reorder, insert, truncate, forged_stream, off_contract, forged_checkpoint],
    ids=lambda f: f.__name__,
)
async def test_tampering_is_found_at_its_offset(
    source: Source, tamper: Callable[[Source], tuple[dict[int, list[Record]], tuple[int, int], str]]
) -> None:
    records, (partition, offset), reason = tamper(source)
    copied = f"{support.run_id()}.copy.events"
    await write_copy(records, copied)
    report = await verify([copied], source.pins)
    assert not report.ok
    first = min(report.breaks, key=lambda b: (b.partition, b.offset))
    assert (first.topic, first.partition, first.offset) == (copied, partition, offset), report.breaks
    assert reason in first.reason


async def test_the_intact_history_verifies_with_its_unsigned_tail(source: Source) -> None:
    report = await verify([source.topic], source.pins)
    assert report.breaks == []
    assert report.checkpoints == report.checkpoints_verified >= 5
    assert report.events == STREAMS * PER_STREAM + 1 + report.checkpoints + 1  # + checkpoints + the key
    assert report.signed_events == STREAMS * PER_STREAM
    assert (report.unsigned_events, report.unsigned_streams) == (1, 1)
    assert report.keys == {SIGNER: [source.key.key_id]}


async def test_an_unpinned_key_signs_nothing(source: Source) -> None:
    report = await verify([source.topic], pins={})
    expected = f"key {source.key.key_id} of {SIGNER} is neither pinned nor endorsed"
    assert [b.reason for b in report.breaks][:1] == [expected]
    assert report.checkpoints_verified == 0
    assert report.unsigned_events == STREAMS * PER_STREAM + 1


async def test_an_exact_copy_verifies_and_a_republished_event_is_a_duplicate(source: Source) -> None:
    """The relay is at least once: the same record twice is not a break."""
    records = copy_of(source)
    rows = next(rows for rows in records.values() if rows)
    rows.insert(1, rows[0])
    copied = f"{support.run_id()}.copy.events"
    await write_copy(records, copied)
    report = await verify([copied], source.pins)
    assert report.ok, report.breaks
    assert report.duplicates == 1


async def test_the_html_report_lists_breaks_coverage_keys_and_checkpoints(source: Source) -> None:
    records, (partition, offset), _ = forged_stream(source)
    copied = f"{support.run_id()}.copy.events"
    await write_copy(records, copied)
    report = await verify([source.topic, copied], source.pins)
    page = render(report, [source.topic, copied], 1.0, datetime(2026, 12, 1, tzinfo=UTC))
    assert "1 break(s)" in page
    assert f'<td class="num">{partition}</td><td class="num">{offset}</td>' in page
    assert "differs from the event signed by checkpoint" in page
    assert page.count(f"<code>{source.key.key_id}</code>") >= report.checkpoints_verified
    signed = report.coverage[source.topic].signed
    assert signed == STREAMS * PER_STREAM
    assert f'<td class="num">{signed}</td><td class="num">1</td>' in page  # signed, unsigned tail
    assert [k.trusted for k in report.key_rows] == [True]  # the same key event on both topics, once
