"""The timeline editor of one scene's track: a client-side widget that sends Python only the result of an edit.

Everything that happens while the pointer moves (dragging, trimming, snapping, live overlap checks,
box selection, scrubbing, zooming) runs in the browser (timeline.js); Python receives one event per
finished gesture and answers, when it accepted an edit, with `set_clips`. Until then the widget shows
the dragged position; sending the clips back unchanged makes the clip snap back.

    editor = TimelineEditor(clips, fps=24, scene_frames=360)
    editor.on("move", lambda e: ...)  # e.args == {"clip_ids": [3], "delta_frames": 12, "overlaps": False}

Events (register with `editor.on(name, handler)`; `e.args` is a dict):

- ``move``: ``{"clip_ids", "delta_frames", "overlaps"}`` on the drop of one or several selected clips.
- ``trim``: ``{"clip_id", "edge": "start"|"end", "start_frame", "duration_frames", "overlaps"}`` on release.
- ``select``: ``{"clip_ids"}`` after click, shift/ctrl-click, box select, ctrl+a or Escape.
- ``playhead``: ``{"frame"}`` after a click/drag on the ruler, arrows, Home/End.
- ``open``: ``{"clip_id"}`` on double-click; ``context``: ``{"clip_id" (None on empty track), "x", "y",
  "frame"}`` on right-click (x/y are viewport pixels for a menu).
- ``zoom``: ``{"px_per_frame"}`` after ctrl+wheel, +/-/shift+z or the zoom methods (debounced).
- ``key``: ``{"key", "clip_ids", "playhead"}`` with key one of delete, copy, cut, paste, duplicate,
  split, undo, redo, select_all, generate, toggle_snap (then also ``"snap"``).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from nicegui import ui
from nicegui.client import Client
from nicegui.events import GenericEventArguments

RulerMode = Literal["seconds", "timecode", "frames"]
RULER_MODES: tuple[str, ...] = ("seconds", "timecode", "frames")
MIN_PX_PER_FRAME = 0.05
MAX_PX_PER_FRAME = 40.0
ZOOM_STEP = 1.5
DEFAULT_CLIP_COLOR = "#5c7cfa"

_CSS = (Path(__file__).parent / "timeline.css").read_text(encoding="utf-8")
_styled_clients: weakref.WeakSet[Client] = weakref.WeakSet()


def _clamp_zoom(px_per_frame: float) -> float:
    return min(MAX_PX_PER_FRAME, max(MIN_PX_PER_FRAME, float(px_per_frame)))


def timecode(frame: float, fps: float) -> str:
    """HH:MM:SS:FF on the nominal whole-number rate (23.976 counts as 24, 29.97 as 30), non-drop-frame."""
    base = max(1, round(fps))
    sign = "-" if frame < 0 else ""
    frame = abs(round(frame))
    secs = frame // base
    return f"{sign}{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}:{frame % base:02d}"


def format_frames(frames: int, fps: float, mode: str = "seconds") -> str:
    """A length as the clip cards show it: ``2.5s`` / ``1:02.5``, ``02:12`` (timecode without leading zero
    hours/minutes) or ``60f``."""
    if mode == "frames":
        return f"{frames}f"
    if mode == "timecode":
        return re.sub(r"^(00:){1,2}", "", timecode(frames, fps))
    secs = round(frames / fps, 2)
    if secs < 60:
        return f"{secs:g}s"
    minutes = int(secs // 60)
    rest = round(secs - minutes * 60, 2)
    return f"{minutes}:{'0' if rest < 10 else ''}{rest:g}"


def format_position(frame: int, fps: float, mode: str = "seconds") -> str:
    """A point in time (a playhead readout): ``5.83s``, full ``00:00:05:20`` timecode, or ``140``."""
    if mode == "frames":
        return str(frame)
    if mode == "timecode":
        return timecode(frame, fps)
    return format_frames(frame, fps, "seconds")


def normalize_clip(clip: Mapping[str, Any]) -> dict[str, Any]:
    """The fields the widget reads, with defaults; whole frames; other keys are dropped."""
    return {
        "id": int(clip["id"]),
        "start_frame": int(clip["start_frame"]),
        "duration_frames": max(1, int(clip["duration_frames"])),
        "label": str(clip.get("label") or ""),
        "color": str(clip.get("color") or DEFAULT_CLIP_COLOR),
        "thumbnail": clip.get("thumbnail") or None,
        "status": clip.get("status") or None,
        "overlap": bool(clip.get("overlap", False)),
        "has_prompts": bool(clip.get("has_prompts", True)),
    }


class TimelineEditor(ui.element, component="timeline.js"):
    """One scene's track: clip cards on a ruler with playhead, beat markers, zoom, snapping and selection."""

    def __init__(
        self,
        clips: Iterable[Mapping[str, Any]],
        *,
        fps: float,
        scene_frames: int,
        px_per_frame: float = 4.0,
        ruler: RulerMode = "seconds",
        snap: bool = True,
        playhead_frame: int = 0,
        beat_frames: Iterable[int] | None = None,
    ) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self._check_ruler(ruler)
        super().__init__()
        self._add_css_once()
        self._clips = [normalize_clip(c) for c in clips]
        self._selected: list[int] = []
        self._props.update(
            clips=self._clips,
            revision=0,
            fps=float(fps),
            sceneFrames=max(0, int(scene_frames)),
            pxPerFrame=_clamp_zoom(px_per_frame),
            ruler=ruler,
            snap=bool(snap),
            playheadFrame=max(0, int(playhead_frame)),
            beatFrames=sorted(int(b) for b in beat_frames or []),
            selectedIds=[],
        )
        # Keep the Python-side view of client state current, so a later re-render starts from it.
        # Registered before any caller's handler: inside those, `selected` etc. are already updated.
        self.on("select", self._on_select)
        self.on("zoom", self._on_zoom)
        self.on("playhead", self._on_playhead)
        self.on("key", self._on_key)

    # ----- state readable from Python -------------------------------------------------------
    @property
    def clips(self) -> list[dict[str, Any]]:
        """The clips last given to the widget (normalised copies)."""
        return [dict(c) for c in self._clips]

    @property
    def selected(self) -> list[int]:
        """The selected clip ids, kept in sync from `select` events and `select()`."""
        return list(self._selected)

    @property
    def px_per_frame(self) -> float:
        """The zoom: screen pixels per frame (from `zoom` events and the zoom methods)."""
        return float(self._props["pxPerFrame"])

    @property
    def playhead_frame(self) -> int:
        return int(self._props["playheadFrame"])

    @property
    def ruler(self) -> str:
        return str(self._props["ruler"])

    @property
    def snap(self) -> bool:
        return bool(self._props["snap"])

    @property
    def fps(self) -> float:
        return float(self._props["fps"])

    @property
    def scene_frames(self) -> int:
        return int(self._props["sceneFrames"])

    # ----- commands ----------------------------------------------------------------------------
    def set_clips(self, clips: Iterable[Mapping[str, Any]]) -> None:
        """Replace the track's clips (after an accepted or rejected edit); the selection keeps existing ids."""
        self._clips = [normalize_clip(c) for c in clips]
        ids = {c["id"] for c in self._clips}
        self._selected = [i for i in self._selected if i in ids]
        self._props["clips"] = self._clips
        self._props["revision"] = int(self._props["revision"]) + 1
        self._props["selectedIds"] = list(self._selected)
        self.update()

    def set_playhead(self, frame: float) -> None:
        frame = max(0, round(frame))
        self._props["playheadFrame"] = frame
        self.run_method("setPlayhead", frame)

    def set_zoom(self, px_per_frame: float) -> None:
        """Zoom around the playhead (or the view's centre when the playhead is off screen)."""
        value = _clamp_zoom(px_per_frame)
        self._props["pxPerFrame"] = value
        self.run_method("setZoom", value)

    def zoom_in(self) -> None:
        """One step closer (x1.5), relative to the zoom the browser shows now."""
        self._props["pxPerFrame"] = _clamp_zoom(self.px_per_frame * ZOOM_STEP)
        self.run_method("zoomIn")

    def zoom_out(self) -> None:
        self._props["pxPerFrame"] = _clamp_zoom(self.px_per_frame / ZOOM_STEP)
        self.run_method("zoomOut")

    def zoom_to_fit(self) -> None:
        """Fit the whole scene into the visible width; `px_per_frame` follows with the `zoom` event."""
        self.run_method("zoomToFit")

    def set_ruler(self, mode: RulerMode) -> None:
        self._check_ruler(mode)
        self._props["ruler"] = mode
        self.run_method("setRuler", mode)

    def set_snap(self, on: bool) -> None:
        self._props["snap"] = bool(on)
        self.run_method("setSnap", bool(on))

    def select(self, ids: Iterable[int]) -> None:
        """Select these clips (no `select` event is sent back)."""
        self._selected = list(dict.fromkeys(int(i) for i in ids))
        self._props["selectedIds"] = list(self._selected)
        self.run_method("setSelected", self._selected)

    def set_beats(self, beat_frames: Iterable[int]) -> None:
        beats = sorted(int(b) for b in beat_frames)
        self._props["beatFrames"] = beats
        self.run_method("setBeats", beats)

    def set_scene_frames(self, scene_frames: int) -> None:
        value = max(0, int(scene_frames))
        self._props["sceneFrames"] = value
        self.run_method("setSceneFrames", value)

    # ----- internals ---------------------------------------------------------------------------
    @staticmethod
    def _check_ruler(mode: str) -> None:
        if mode not in RULER_MODES:
            raise ValueError(f"ruler must be one of {', '.join(RULER_MODES)}, got {mode!r}")

    def _add_css_once(self) -> None:
        client = self.client
        if client not in _styled_clients:
            _styled_clients.add(client)
            ui.add_css(_CSS)

    def _on_select(self, e: GenericEventArguments) -> None:
        self._selected = [int(i) for i in (e.args or {}).get("clip_ids", [])]
        self._props["selectedIds"] = list(self._selected)

    def _on_zoom(self, e: GenericEventArguments) -> None:
        value = (e.args or {}).get("px_per_frame")
        if value is not None:
            self._props["pxPerFrame"] = _clamp_zoom(value)

    def _on_playhead(self, e: GenericEventArguments) -> None:
        frame = (e.args or {}).get("frame")
        if frame is not None:
            self._props["playheadFrame"] = max(0, int(frame))

    def _on_key(self, e: GenericEventArguments) -> None:
        args = e.args or {}
        if args.get("key") == "toggle_snap" and "snap" in args:
            self._props["snap"] = bool(args["snap"])
