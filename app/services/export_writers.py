"""Writing a long cut in a process of its own, so the app's event loop never waits for it.

A writer is pure CPU (timeline in, bytes out). Run in a thread it still holds the interpreter lock:
a 2,000-clip AAF stalled every open tab for seconds. A separate process has its own lock; the
caller (a REST worker thread or the export dialog's I/O thread) waits for it, the loop does not.
Short cuts are written in place: starting a process costs more than they do.
"""

from __future__ import annotations

import atexit
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor

from app.exports import aaf, edl, fcpxml, otio_export, xmeml
from app.exports.timeline import ExportTimeline, Written

WRITERS = {"fcpxml": fcpxml, "edl": edl, "xmeml": xmeml, "aaf": aaf, "otio": otio_export}
# Clips from which a cut is written in the writer process.
PROCESS_FROM_CLIPS = 300

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _writer_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # spawn, not fork: the app has threads (the loop, the pools), which a fork would copy half-way.
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            atexit.register(shutdown)
        return _pool


def shutdown() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def _write_here(file_format: str, timeline: ExportTimeline) -> Written:
    return WRITERS[file_format].write(timeline)


def write(file_format: str, timeline: ExportTimeline) -> Written:
    """The file of a cut; long cuts are written by the writer process, the same code on the same timeline."""
    if len(timeline.clips) < PROCESS_FROM_CLIPS:
        return _write_here(file_format, timeline)
    return _writer_pool().submit(_write_here, file_format, timeline).result()
