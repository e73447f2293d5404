"""One consumer group per service on the real broker: the groups the running stack holds are
``<prefix><service>.projections``, one each, and every projection of a service catches up
through it."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient

from shared.runtime import SERVICE_GROUP
from tests import support
from tests.e2e.conftest import Stack
from tests.e2e.test_slice import counts, refer_and_enrol


async def groups_of(prefix: str) -> set[str]:
    """The stack's services' groups (not those of a process another test starts with a group
    prefix of its own, ``<prefix>proc.``)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=support.KAFKA)
    await admin.start()
    try:
        names = [g[0] for g in await admin.list_consumer_groups() if g[0].startswith(prefix)]
        return {n for n in names if n[len(prefix) :].split(".")[0] in support.SERVICES}
    finally:
        await admin.close()


async def test_each_service_runs_one_consumer_group_for_all_its_projections(stack: Stack) -> None:
    await refer_and_enrol(stack)
    await support.eventually(lambda: counts(stack), lambda c: c.get("open_cases") == 1)
    expected = {f"{stack.prefix}{s}.{SERVICE_GROUP}" for s in support.SERVICES if stack.runtime(s).runners}
    found = await support.eventually(lambda: groups_of(stack.prefix), lambda g: g == expected)
    assert found == expected
    for service in support.SERVICES:
        rt = stack.runtime(service)
        assert rt.consumer is not None
        assert {f.runner.projection.name for f in rt.consumers} == {r.projection.name for r in rt.runners}

        async def lag(s: str = service) -> int:
            return sum([await c.refresh_lag() for c in stack.runtime(s).consumers])

        await support.eventually(lag, lambda n: n == 0)
