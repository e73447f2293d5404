"""Authenticated Kafka: a broker of this test's own (SASL/SCRAM-SHA-512, KRaft's StandardAuthorizer,
its own ports and directory, started by deploy/local/kafka.sh) with one principal per service and
the ACLs the Helm chart gives them (built here from the chart's own table). A service cannot write
another's topic nor join another's consumer group; events still flow between services."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import GroupAuthorizationFailedError, KafkaError, TopicAuthorizationFailedError

from shared.kafka_auth import client_options
from shared.relay import new_producer
from shared.settings import ServiceSettings, load_settings
from shared.vocabulary import Role
from tests import support
from tests.deploy.test_helm_chart import chart_topology
from tests.e2e.conftest import Stack, serve
from tests.e2e.test_slice import refer_and_enrol

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = ROOT / "deploy" / "local" / "kafka.sh"


@dataclass(frozen=True)
class SaslBroker:
    bootstrap: str
    env: dict[str, str]
    passwords: dict[str, str]

    def admin(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            ["bash", str(KAFKA_SH), "admin", *args], env=self.env, input=stdin, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def settings(self, service: str, prefix: str, **overrides: object) -> ServiceSettings:
        return load_settings(service, **(self.overrides(service, prefix) | overrides))

    def overrides(self, service: str, prefix: str) -> dict[str, object]:
        return {
            "kafka_bootstrap": self.bootstrap,
            "topic_prefix": prefix,
            "kafka_security_protocol": "SASL_PLAINTEXT",
            "kafka_sasl_mechanism": "SCRAM-SHA-512",
            "kafka_sasl_username": service,
            "kafka_sasl_password": self.passwords[service],
        }


def _free_ports(n: int) -> list[int]:
    """``n`` distinct free ports (all held open while choosing, so no two are the same)."""
    with contextlib.ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(n)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SaslBroker]:
    passwords = {name: secrets.token_urlsafe(16) for name in ("admin", *support.SERVICES)}
    port, controller = _free_ports(2)
    env = os.environ | {
        "KAFKA_AUTH": "scram",
        "KAFKA_SCRAM_USERS": " ".join(f"{n}={p}" for n, p in passwords.items()),  # admin first
        "KAFKA_STATE_DIR": str(tmp_path_factory.mktemp("kafka-sasl")),
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(controller),
        "KAFKA_START_TIMEOUT": "240",
    }
    started = subprocess.run(["bash", str(KAFKA_SH), "start"], env=env, capture_output=True, text=True)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield SaslBroker(f"127.0.0.1:{port}", env, passwords)
    finally:
        subprocess.run(["bash", str(KAFKA_SH), "stop"], env=env, capture_output=True, text=True)


def chart_acls(prefix: str) -> list[str]:
    """The ACLs of deploy/helm/rehapro/templates/kafka.yaml, one line per rule, for ``kafka.sh admin acls``."""
    lines = []
    for service, t in chart_topology().items():
        own = f"{prefix}{service}.events"
        lines.append(f"User:{service} topic {own} literal Write,Describe{',Read' if service in t['consumes'] else ''}")
        lines.append(f"User:{service} topic {prefix}{service}.audit literal Write,Describe")
        lines += [
            f"User:{service} topic {prefix}{source}.events literal Read,Describe"
            for source in t["consumes"]
            if source != service
        ]
        lines.append(f"User:{service} group {prefix}{service}. prefixed Read,Describe")
        lines += [
            f"User:{service} topic {prefix}{service}.{p}.dlq literal Write,Describe,Create,Read"
            for p in t["projections"]
        ]
    return lines


@pytest.fixture
def prefix(sasl_broker: SaslBroker) -> str:
    p = f"{support.run_id()}."
    sasl_broker.admin("ensure", "3", *(f"{p}{name}.events" for name in support.SERVICES))
    assert "acls" in sasl_broker.admin("acls", stdin="\n".join(chart_acls(p)) + "\n")
    return p


async def test_a_service_cannot_write_another_services_topic(sasl_broker: SaslBroker, prefix: str) -> None:
    casework = sasl_broker.settings("casework", prefix)
    producer = new_producer(casework.kafka_bootstrap, "acl-test", request_timeout_ms=10_000, **client_options(casework))
    await producer.start()
    try:
        await producer.send_and_wait(casework.topic("casework"), b"own topic: allowed")
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(casework.topic("intake"), b"intake's topic: denied")
    finally:
        await producer.stop()


async def test_a_service_cannot_join_another_services_consumer_group(sasl_broker: SaslBroker, prefix: str) -> None:
    casework = sasl_broker.settings("casework", prefix)

    async def first_record(group: str) -> None:
        consumer = AIOKafkaConsumer(
            casework.topic("intake"),
            bootstrap_servers=casework.kafka_bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            **client_options(casework),
        )
        try:
            await consumer.start()
            await consumer.getmany(timeout_ms=5000)
        finally:
            await consumer.stop()

    with pytest.raises(GroupAuthorizationFailedError):
        await first_record(f"{prefix}intake.register")  # intake's group
    await first_record(f"{prefix}casework.enrolments")  # its own: joins and reads


async def test_wrong_password_is_refused(sasl_broker: SaslBroker, prefix: str) -> None:
    intake = sasl_broker.settings("intake", prefix, kafka_sasl_password="not-the-password")
    producer = new_producer(intake.kafka_bootstrap, "acl-test", **client_options(intake))
    with pytest.raises(KafkaError):
        await producer.start()
    await producer.stop()


@pytest.fixture
async def sasl_stack(sasl_broker: SaslBroker, prefix: str) -> AsyncIterator[Stack]:
    run = prefix.rstrip(".")
    async with serve(Stack(run=run, prefix=prefix), lambda name: sasl_broker.overrides(name, prefix)) as s:
        yield s


async def test_events_flow_between_services_with_authentication_on(sasl_stack: Stack) -> None:
    """A referral in intake becomes a case in casework: published by intake's principal, read in
    casework's own consumer groups, nothing denied on the way."""
    pid = await refer_and_enrol(sasl_stack)
    cm = sasl_stack.token(Role.CASE_MANAGER, "jc-en", "cm-1")
    casework = sasl_stack.clients["casework"]
    await support.eventually(
        lambda: casework.get(f"/cases/{pid}", headers=cm), lambda r: r.status_code == 200, timeout=120
    )
    for name in support.SERVICES:
        ready = (await sasl_stack.clients[name].get("/health/ready")).json()
        assert ready.get("broker", "ok") == "ok", (name, ready)
