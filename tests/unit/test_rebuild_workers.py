"""A parallel rebuild never waits forever on a worker process that died, nor a worker on a
parent that died."""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

import pytest

from shared.rebuild import _collect, _hand_over, _ordered


def dead_worker() -> multiprocessing.process.BaseProcess:
    proc = multiprocessing.get_context("spawn").Process(target=os._exit, args=(3,))
    proc.start()
    proc.join()
    return proc


def test_a_worker_that_died_without_reporting_is_an_error() -> None:
    results = multiprocessing.get_context("spawn").Queue()
    with pytest.raises(RuntimeError, match="died without reporting"):
        _collect(results, [dead_worker()])


def test_handing_over_to_a_dead_worker_gives_up_once_its_queue_is_full() -> None:
    feed = multiprocessing.get_context("spawn").Queue(maxsize=1)
    worker = dead_worker()
    _hand_over(feed, [(1, b"x")], worker)  # room for one
    with pytest.raises(RuntimeError, match="died"):
        _hand_over(feed, [(2, b"y")], worker)


def _wait_for_orders(orders: Any, answer: Any) -> None:
    answer.put(_ordered(orders))


def _orphaning_parent(orders: Any, answer: Any) -> None:
    """Start a worker waiting for its orders, then die without giving any."""
    multiprocessing.get_context("spawn").Process(target=_wait_for_orders, args=(orders, answer)).start()
    os._exit(0)


def test_a_worker_takes_its_orders_and_an_orphan_stops_waiting() -> None:
    spawn = multiprocessing.get_context("spawn")
    orders, answer = spawn.Queue(), spawn.Queue()
    orders.put(True)
    assert _ordered(orders) is True
    parent = spawn.Process(target=_orphaning_parent, args=(orders, answer))
    parent.start()
    parent.join()
    assert answer.get(timeout=60) is False  # its parent is gone: no last step, no wait for ever
