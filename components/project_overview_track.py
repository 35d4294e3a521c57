"""The whole-project timeline: every scene end to end on one track, its clips as thin bars, a ruler and the target.

The view-model comes from ``app.services.project_track.project_track`` (scene summaries plus one query of the
project's clip timings). Here:

- ``layout_track(track, width)`` is pure arithmetic: where each scene block, ruler tick and the target marker go.
  Blocks are proportional to their duration with a minimum width, so the ruler is piecewise linear: each tick is
  placed inside the block whose time it marks.
- ``ProjectOverviewTrack`` draws it with plain absolutely positioned elements (no bindings, no per-element
  events; scene blocks are ordinary links; a scene's clip bars are one small Vue component that draws plain
  data, so a clip label is never markup), positioned in percent of a track with a minimum pixel width, so it
  fills a wide screen and scrolls on a narrow one.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from typing import Any

from nicegui import html, ui

from app.services.project_track import ProjectTrack, TrackScene
from data.frames import frames_to_seconds, seconds_to_frames, timecode
from data.words import counted

from .scene_list import format_seconds

BASE_WIDTH_PX = 900.0  # the track's least width at zoom 1 (fits a 1024 px window); wider pages stretch it
MIN_SCENE_PX = 64.0  # room for "12 · Harbo…" and its duration
TIGHT_SCENE_PX = 22.0  # the least a scene gets when there are many: its number and its clip bars
COMPACT_SCENE_PX = 52.0  # below this a block shows only its number (the tooltip says the rest)
MAX_TAIL_SHARE = 0.6  # the "still to go until the target" stretch never takes more of the track than this
MAX_PX_PER_SECOND = 240.0
TICK_STEPS = (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
DEFAULT_CLIP_COLOR = "#5c7cfa"
_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
ZOOMS = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)


# --- layout ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A stretch of project time drawn between x and x + width pixels."""

    start_frame: int
    frames: int
    x: float
    width: float


@dataclass(frozen=True)
class TrackLayout:
    width: float
    blocks: tuple[tuple[TrackScene, Segment], ...]
    tail: Segment | None  # from the end of the last clip to the target, when the film is still short
    ticks: tuple[tuple[float, str], ...]
    target_x: float
    end_x: float

    def percent(self, x: float) -> str:
        return f"{100 * x / self.width:.4f}%" if self.width else "0%"


def _fit(lengths: list[float], minimums: list[float], width: float) -> float:
    """Pixels per second so that max(minimum, length × pps) sums to width (when that is possible at all)."""
    fixed: set[int] = {i for i, length in enumerate(lengths) if length <= 0}
    while True:
        room = width - sum(minimums[i] for i in fixed)
        free = sum(length for i, length in enumerate(lengths) if i not in fixed)
        # Too many scenes for the width: keep the typical scene at the minimum and scroll. Asked before the
        # "nothing left to stretch" case: when every scene reached its minimum, that one would stretch a
        # minute-long scene to thousands of pixels.
        if room <= 0 and any(length > 0 for length in lengths):
            typical = statistics.median(length for length in lengths if length > 0)
            return max(minimums) / typical
        if free <= 0:
            return MAX_PX_PER_SECOND
        pps = room / free
        newly = {i for i, length in enumerate(lengths) if i not in fixed and length * pps < minimums[i]}
        if not newly:
            return min(pps, MAX_PX_PER_SECOND)
        fixed |= newly


def _tick_label(frame: int, track: ProjectTrack) -> str:
    if track.ruler == "frames":
        return str(frame)
    if track.ruler == "timecode":
        return timecode(frame, track.fps, track.drop_frame)
    seconds = track.seconds(frame)
    if seconds < 60:
        return f"{seconds:g}s"
    minutes, rest = divmod(round(seconds, 3), 60)
    return f"{int(minutes)}:{rest:02g}" if rest == int(rest) else f"{int(minutes)}:{rest:04.1f}"


def layout_track(track: ProjectTrack, width: float = BASE_WIDTH_PX) -> TrackLayout:
    """Scene blocks proportional to duration (with a minimum width), the stretch still to go until the target,
    ruler ticks at round times at least a label's width apart, and the target and end positions."""
    fps = track.fps
    durations = [track.seconds(scene.duration_frames) for scene in track.scenes]
    # Many scenes share the width: the minimum shrinks so that the whole film still fits when zoomed out.
    minimum = max(TIGHT_SCENE_PX, min(MIN_SCENE_PX, 0.5 * width / max(1, len(durations))))
    tail_frames = max(0, track.target_frames - track.total_frames)
    tail_seconds = track.seconds(tail_frames)
    pps = _fit([*durations, tail_seconds], [minimum] * len(durations) + [0.0], width)
    if tail_seconds * pps > MAX_TAIL_SHARE * width:
        tail_width = MAX_TAIL_SHARE * width
        pps = _fit(durations, [minimum] * len(durations), width - tail_width) if durations else pps
    else:
        tail_width = tail_seconds * pps

    blocks: list[tuple[TrackScene, Segment]] = []
    x = 0.0
    for scene, seconds in zip(track.scenes, durations, strict=True):
        block_width = max(minimum, seconds * pps)
        blocks.append((scene, Segment(scene.start_frame, scene.duration_frames, x, block_width)))
        x += block_width
    end_x = x
    tail = Segment(track.total_frames, tail_frames, end_x, tail_width) if tail_frames else None
    segments = [segment for _, segment in blocks if segment.frames > 0] + ([tail] if tail else [])

    def x_of(frame: int) -> float:
        for segment in segments:
            if segment.start_frame <= frame < segment.start_frame + segment.frames:
                return segment.x + (frame - segment.start_frame) / segment.frames * segment.width
        return end_x + tail_width

    spacing = 96.0 if track.ruler == "timecode" else 56.0
    steps = [s for s in TICK_STEPS if track.ruler == "seconds" or s >= 1]
    step = next((s for s in steps if s * pps >= spacing), steps[-1])
    span = track.total_frames + tail_frames
    ticks: list[tuple[float, str]] = []
    k = 0
    while True:
        frame = seconds_to_frames(k * step, fps)
        if frame > span:
            break
        position = x_of(frame)
        if not ticks or position - ticks[-1][0] >= spacing:  # a squeezed stretch (the tail) keeps labels apart
            ticks.append((position, _tick_label(frame, track)))
        k += 1
    total_width = end_x + tail_width
    return TrackLayout(
        width=max(total_width, 1.0),
        blocks=tuple(blocks),
        tail=tail,
        ticks=tuple(ticks),
        target_x=x_of(track.target_frames) if track.target_frames < track.total_frames else total_width,
        end_x=end_x,
    )


# --- drawing ---------------------------------------------------------------------------------------


_CSS = """
.sc-ptrack-scroll { overflow-x: auto; overflow-y: hidden; padding-bottom: 4px; max-width: 100%; }
.sc-ptrack { position: relative; user-select: none; padding-top: 16px; }
.sc-ptrack-ruler { position: relative; height: 18px; border-bottom: 1px solid var(--sc-border-strong); }
.sc-ptick { position: absolute; top: 0; height: 100%; border-left: 1px solid var(--sc-border-strong); padding-left: 3px;
  font: 10px/12px ui-monospace, SFMono-Regular, Menlo, monospace; color: var(--sc-text-muted); white-space: nowrap; }
.sc-ptrack-lane { position: relative; height: 66px; margin-top: 4px; }
.sc-pscene { position: absolute; top: 0; bottom: 0; display: block; box-sizing: border-box; overflow: hidden;
  background: var(--sc-surface-2); border: 1px solid var(--sc-border); border-radius: 4px; padding: 3px 6px;
  color: var(--sc-text); text-decoration: none; cursor: pointer; }
.sc-pscene:hover, .sc-pscene:focus-visible { border-color: var(--sc-accent); background: var(--sc-surface); }
.sc-pscene:focus-visible { outline: 2px solid var(--sc-focus); outline-offset: 1px; }
.sc-pscene.sc-pscene-empty { border-style: dashed; background: transparent; }
.sc-pscene.sc-pscene-warn { border-color: var(--q-negative); }
.sc-pscene.sc-pscene-compact { padding: 3px 1px; text-align: center; }
.sc-pscene-compact .sc-pscene-name { text-overflow: clip; }
.sc-pscene-name { font-size: 12px; font-weight: 500; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.sc-pscene-meta { font-size: 10px; color: var(--sc-text-muted); white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.sc-pscene-warn .sc-pscene-meta b { color: var(--sc-danger-text); font-weight: 600; }
.sc-pclips { position: absolute; left: 0; right: 0; bottom: 4px; height: 20px; }
.sc-pclip { position: absolute; border-radius: 1px; box-shadow: inset -1px 0 0 rgba(0,0,0,.6); opacity: .9; }
.sc-pclip.sc-pclip-overlap { outline: 1px solid var(--sc-danger-text); outline-offset: 0; z-index: 1; }
.sc-poverlap { position: absolute; top: -2px; bottom: -2px; z-index: 2; border-left: 1px solid var(--sc-danger-text);
  border-right: 1px solid var(--sc-danger-text); min-width: 2px;
  background: repeating-linear-gradient(45deg, var(--sc-danger-text) 0 2px, transparent 2px 5px); }
.sc-ptail { position: absolute; top: 0; bottom: 0; border: 1px dashed var(--sc-border-strong); border-radius: 4px;
  display: flex; align-items: center; justify-content: center; font-size: 10px; color: var(--sc-text-muted);
  overflow: hidden; white-space: nowrap; }
.sc-pover { position: absolute; top: 0; height: 18px; pointer-events: none;
  background: color-mix(in srgb, var(--sc-warn-text) 18%, transparent); }
.sc-ptarget { position: absolute; top: 0; bottom: 0; width: 0; border-left: 2px dashed var(--sc-warn-text); z-index: 3;
  pointer-events: none; }
.sc-ptarget > div { position: absolute; top: -1px; left: 4px; font-size: 10px; line-height: 12px;
  color: var(--sc-warn-text); white-space: nowrap; }
.sc-ptarget.sc-ptarget-end > div { left: auto; right: 4px; }
"""


def _placed(**style: str) -> ui.element:
    """A plain div with its position as inline style (set as a dict: no style-string parsing per element)."""
    element = ui.element("div")
    element.style.update({key.replace("_", "-"): value for key, value in style.items()})
    return element


def clip_bars(scene: TrackScene, fps: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A scene's clip bars and overlap marks as plain data (positions in percent of the scene, pixels for the
    lanes). Colours pass the same check the clip service applies, else they are drawn in the default colour."""
    frames = scene.duration_frames
    height = round((20 - 2 * (scene.lanes - 1)) / scene.lanes, 1)
    bars = [
        {
            "left": round(100 * clip.start_frame / frames, 3),
            "width": round(100 * clip.duration_frames / frames, 3),
            "top": round(clip.lane * (height + 2), 1),
            "height": height,
            "color": clip.color if _COLOR.match(clip.color) else DEFAULT_CLIP_COLOR,
            "title": f"{clip.label} · {frames_to_seconds(clip.duration_frames, fps):g} s",
            "overlap": bool(clip.overlaps),
        }
        for clip in scene.clips
    ]
    overlaps = [
        {
            "left": round(100 * start / frames, 3),
            "width": round(100 * (end - start) / frames, 3),
            "title": f"Overlap: {frames_to_seconds(end - start, fps):g} s of shared time",
        }
        for start, end in scene.overlaps
    ]
    return bars, overlaps


class ProjectClipBars(ui.element, component="project_clip_bars.js"):
    """One scene's clip bars: one small Vue component drawing plain data, not one element per clip."""

    def __init__(self, scene: TrackScene, fps: float) -> None:
        super().__init__()
        self._props["clips"], self._props["overlaps"] = clip_bars(scene, fps)


class ProjectOverviewTrack:
    """Draws a ProjectTrack; `show(track)` redraws only this widget (on project_changed or a zoom change)."""

    def __init__(self, track: ProjectTrack) -> None:
        ui.add_css(_CSS)
        self.track = track
        self.zoom = 1.0
        self.render = ui.refreshable(self._render)
        self.render()

    def show(self, track: ProjectTrack) -> None:
        self.track = track
        self.render.refresh()

    def set_zoom(self, zoom: float) -> None:
        self.zoom = min(ZOOMS[-1], max(ZOOMS[0], zoom))
        self.render.refresh()

    def zoom_in(self) -> None:
        self.set_zoom(next((z for z in ZOOMS if z > self.zoom), ZOOMS[-1]))

    def zoom_out(self) -> None:
        self.set_zoom(next((z for z in reversed(ZOOMS) if z < self.zoom), ZOOMS[0]))

    def _render(self) -> None:
        track = self.track
        if not track.scenes:
            return
        layout = layout_track(track, BASE_WIDTH_PX * self.zoom)
        pct = layout.percent
        with (
            ui.element("div").classes("sc-ptrack-scroll w-full").props('data-testid="project-track"'),
            _placed(width="100%", min_width=f"{layout.width:.0f}px").classes("sc-ptrack"),
        ):
            with ui.element("div").classes("sc-ptrack-ruler").props('data-testid="track-ruler"'):
                if track.total_frames > track.target_frames:
                    _placed(left=pct(layout.target_x), width=pct(layout.end_x - layout.target_x)).classes("sc-pover")
                for x, label in layout.ticks:
                    ui.label(label).classes("sc-ptick").style.update({"left": pct(x)})
            with ui.element("div").classes("sc-ptrack-lane"):
                for scene, segment in layout.blocks:
                    self._block(scene, pct(segment.x), pct(segment.width), compact=segment.width < COMPACT_SCENE_PX)
                if layout.tail is not None:
                    with _placed(left=pct(layout.tail.x), width=pct(layout.tail.width)).classes("sc-ptail"):
                        ui.label(f"{format_seconds(track.seconds(layout.tail.frames))} to the target").props(
                            'data-testid="track-remaining"'
                        )
            at_end = layout.target_x >= layout.width - 1
            target = _placed(left=pct(layout.target_x)).classes("sc-ptarget sc-ptarget-end" if at_end else "sc-ptarget")
            with target:
                ui.label(f"target {format_seconds(track.seconds(track.target_frames))}").props(
                    'data-testid="track-target"'
                )
        with ui.row().classes("w-full items-center gap-4 text-xs sc-muted"):
            ui.label("Click a scene to open its timeline.")
            ui.space()
            with ui.row().classes("items-center gap-1 no-wrap"):
                _placed(width="18px", height="6px", background=DEFAULT_CLIP_COLOR, border_radius="1px")
                ui.label("clip (in its colour)")
            with ui.row().classes("items-center gap-1 no-wrap"):
                _placed(position="static", width="18px", height="10px").classes("sc-poverlap")
                ui.label("overlap")
            with ui.row().classes("items-center gap-1 no-wrap"):
                _placed(width="0", height="12px", border_left="2px dashed #fab005")
                ui.label("target duration")

    def _block(self, scene: TrackScene, left: str, width: str, *, compact: bool) -> None:
        fps = self.track.fps
        seconds = frames_to_seconds(scene.duration_frames, fps)
        title = f"{scene.position + 1}. {scene.name}\n{format_seconds(seconds)} · {counted(len(scene.clips), 'clip')}"
        if scene.overlaps:
            title += f" · {counted(scene.overlap_count, 'overlap')}"
        title += "\nClick to open the scene's timeline"
        link = ui.link(target=f"/scenes/{scene.id}").classes("sc-pscene")
        if not scene.clips:
            link.classes("sc-pscene-empty")
        if scene.overlaps:
            link.classes("sc-pscene-warn")
        if compact:
            link.classes("sc-pscene-compact")
        link.style.update({"left": left, "width": f"calc({width} - 2px)"})
        link.props.update({"title": title, "data-testid": "track-scene", "data-scene-id": str(scene.id)})
        with link:
            name = f"{scene.position + 1}" if compact else f"{scene.position + 1} · {scene.name}"
            ui.label(name).classes("sc-pscene-name").props('data-testid="track-scene-name"')
            if compact:
                meta, warning = "", "⚠" if scene.overlaps else ""
            else:
                meta = f"{format_seconds(seconds)} · {counted(len(scene.clips), 'clip')}" if scene.clips else "no clips"
                warning = f"⚠ {scene.overlap_count}" if scene.overlaps else ""
                meta += " · " if warning else ""
            # The label's text, then the warning in bold: both element text, never markup.
            with ui.label(meta).classes("sc-pscene-meta").props('data-testid="track-scene-meta"'):
                if warning:
                    html.b(warning)
            if not scene.clips or not scene.duration_frames:
                return
            ProjectClipBars(scene, fps)
