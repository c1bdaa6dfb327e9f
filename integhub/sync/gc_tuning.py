"""Fewer garbage collections while syncs run.

A sync parses and normalises tens of thousands of provider objects (a Retell page of 1,000 calls
is some 30,000 new dicts and lists). With CPython's default first-generation threshold of 700
allocations that sets off dozens of collections per page, and every tenth of those scans the
older generations too: measured on a 20,000-call listing, a third of the reader's CPU, and all of
it holding the interpreter lock the thread waiting for the next page needs. While at least one
run is active the first-generation threshold is raised; cycles are still collected, only in
larger batches. The old thresholds come back when the last run ends.
"""
from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

SYNC_GEN0_THRESHOLD = 100_000

_lock = threading.Lock()
_active = 0
_saved: tuple[int, ...] | None = None


@contextlib.contextmanager
def fewer_collections(gen0_threshold: int = SYNC_GEN0_THRESHOLD) -> Iterator[None]:
    """Raise the first-generation threshold for the duration (nestable, safe across threads)."""
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            if _saved[0] and _saved[0] < gen0_threshold:  # 0: collection is switched off; leave it so
                gc.set_threshold(gen0_threshold, *_saved[1:])
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None


def freeze_startup_objects() -> None:
    """Move everything alive now (imported modules, their classes and constants) out of the
    collector's view, so later full collections do not scan them again and again. For a worker
    process: after start-up and once more when the client libraries have loaded (objects frozen
    are never collected, so not for a process that goes on creating and dropping them)."""
    gc.collect()
    gc.freeze()
