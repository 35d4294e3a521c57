"""Long cuts are written in a process of their own: the same file, and the app's event loop keeps going."""

from __future__ import annotations

import asyncio
import os
import time

from app.exports import edl, fcpxml
from app.exports.timeline import ExportTimeline, MediaRef, TimelineClip, rate_for
from app.services import export_writers


def _cut(clips: int) -> ExportTimeline:
    items = []
    for index in range(clips):
        media = MediaRef(
            key=f"r{index}",
            kind="video" if index % 2 else "still",
            stored_path=f"projects/1/clips/{index}/result.{'mp4' if index % 2 else 'png'}",
            path=f"/srv/media/projects/1/clips/{index}/result.{'mp4' if index % 2 else 'png'}",
            package_name=f"media/shot-{index}.{'mp4' if index % 2 else 'png'}",
            width=1920,
            height=1080,
            seconds=2.0,
        )
        items.append(
            TimelineClip(
                clip_id=index + 1,
                scene_id=1 + index // 50,
                scene_name=f"Scene {1 + index // 50}",
                name=f"Shot {index + 1}",
                record_start=index * 48,
                duration=48,
                media=media,
                image_prompt=f"a lighthouse, shot {index}",
            )
        )
    return ExportTimeline(name="Long cut", rate=rate_for(24.0), width=1920, height=1080, items=tuple(items))


def test_a_long_cut_is_written_by_the_writer_process_and_comes_out_the_same() -> None:
    cut = _cut(export_writers.PROCESS_FROM_CLIPS + 20)
    try:
        for file_format, writer in (("fcpxml", fcpxml), ("edl", edl)):
            assert export_writers.write(file_format, cut).content == writer.write(cut).content
        pool = export_writers._pool
        assert pool is not None  # the long cut went to the writer process
        assert all(pid != os.getpid() for pid in pool._processes)  # which is another process
    finally:
        export_writers.shutdown()


def test_a_short_cut_is_written_in_place() -> None:
    export_writers.shutdown()
    assert export_writers.write("edl", _cut(3)).content == edl.write(_cut(3)).content
    assert export_writers._pool is None  # no process was started for three clips


async def test_the_event_loop_keeps_ticking_while_a_long_aaf_is_written() -> None:
    """As the export dialog and the REST route do: the writing is waited for in a thread."""
    cut = _cut(1500)
    export_writers.write("edl", _cut(export_writers.PROCESS_FROM_CLIPS))  # the process is up before measuring
    stalls: list[float] = []
    done = False

    async def ticker() -> None:
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            stalls.append(now - last - 0.01)
            last = now

    watcher = asyncio.create_task(ticker())
    try:
        written = await asyncio.to_thread(export_writers.write, "aaf", cut)
    finally:
        done = True
        await watcher
        export_writers.shutdown()
    assert written.content[:8] == bytes.fromhex("d0cf11e0a1b11ae1")  # a structured storage file
    assert max(stalls) < 0.2, f"the loop stalled {max(stalls) * 1000:.0f} ms"
