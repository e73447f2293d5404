"""A parallel rebuild never waits forever on a worker process that died."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from shared.rebuild import _collect, _hand_over


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
