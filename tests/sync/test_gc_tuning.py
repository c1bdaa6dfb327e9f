"""Fewer garbage collections while syncs run, and the collector's settings back afterwards."""
from __future__ import annotations

import gc
import threading

import pytest

from integhub.services.sync import run_sync
from integhub.sync.gc_tuning import SYNC_GEN0_THRESHOLD, fewer_collections
from tests.sync.conftest import new_practice


@pytest.fixture
def default_thresholds():
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield (700, 10, 10)
    gc.set_threshold(*saved)


def test_the_first_generation_threshold_is_raised_while_inside_and_restored_after(default_thresholds):
    with fewer_collections():
        assert gc.get_threshold() == (SYNC_GEN0_THRESHOLD, 10, 10)
    assert gc.get_threshold() == default_thresholds


def test_an_error_inside_still_restores_the_thresholds(default_thresholds):
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("boom")
    assert gc.get_threshold() == default_thresholds


def test_overlapping_runs_on_threads_restore_only_when_the_last_one_ends(default_thresholds):
    first_inside, second_may_leave, first_left = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with fewer_collections():
            first_inside.set()
            second_may_leave.wait(5)
        first_left.set()

    thread = threading.Thread(target=first)
    thread.start()
    assert first_inside.wait(5)
    with fewer_collections():
        second_may_leave.set()
        assert first_left.wait(5)
        seen["after_first_left"] = gc.get_threshold()  # the second run is still inside
    thread.join(5)
    assert seen["after_first_left"][0] == SYNC_GEN0_THRESHOLD
    assert gc.get_threshold() == default_thresholds


def test_a_collector_switched_off_by_threshold_zero_stays_off():
    saved = gc.get_threshold()
    gc.set_threshold(0)
    try:
        with fewer_collections():
            assert gc.get_threshold()[0] == 0
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*saved)


def test_a_sync_runs_with_fewer_collections_and_leaves_the_settings_as_they_were(hub, simulator, options,
                                                                              default_thresholds):
    practice = new_practice(hub, simulator, bookings=5, calls=5)
    during = []
    result = run_sync(hub, practice.company_id, "retell", options=options,
                      progress=lambda step, counts: during.append(gc.get_threshold()[0]))
    assert result.success, result.error
    assert during and set(during) == {SYNC_GEN0_THRESHOLD}
    assert gc.get_threshold() == default_thresholds
