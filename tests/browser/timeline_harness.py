"""A tiny NiceGUI app that shows the TimelineEditor with sample clips, for the browser tests and for eyeballing.

    python tests/browser/timeline_harness.py 8765   # then open http://127.0.0.1:8765/

It logs every event it receives (JSON lines in data-testid="events"), applies moves, trims, splits and
deletions to its own clip list and sends it back with `set_clips`, so the round trip is visible.
Query parameters: `n` (number of clips, default 5), `beats=1` (a beat every half second),
`ruler` (seconds|timecode|frames), `ppf` (px per frame), `snap=0`, `apply=0` (send the clips back
unchanged: the widget snaps back).
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from nicegui import ui  # noqa: E402
from nicegui.events import GenericEventArguments  # noqa: E402

from components.timeline import RULER_MODES, TimelineEditor  # noqa: E402

FPS = 24
SCENE_FRAMES = 360
EVENTS = ("move", "trim", "select", "playhead", "open", "context", "zoom", "key")
PALETTE = ["#5c7cfa", "#20c997", "#f59f00", "#be4bdb", "#fa5252", "#15aabf", "#82c91e", "#e64980"]


def _thumbnail(hue: int) -> str:
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' width='160' height='90'>"
        f"<defs><linearGradient id='g' x1='0' y1='0' x2='0' y2='1'>"
        f"<stop offset='0' stop-color='hsl({hue},55%,62%)'/><stop offset='1' stop-color='hsl({hue + 30},45%,22%)'/>"
        "</linearGradient></defs><rect width='160' height='90' fill='url(#g)'/>"
        f"<circle cx='118' cy='30' r='13' fill='hsl({hue + 50},80%,85%)' opacity='.85'/>"
        f"<path d='M0 90 L40 52 L70 74 L104 44 L160 90 Z' fill='hsl({hue + 200},30%,14%)' opacity='.9'/></svg>"
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def sample_clips(count: int = 5) -> list[dict[str, Any]]:
    """Five hand-made clips (positions the tests rely on) or `count` generated ones."""
    if count <= 5:
        clips = [
            {
                "id": 1,
                "start_frame": 0,
                "duration_frames": 48,
                "label": "Opening wide",
                "status": "done",
                "thumbnail": _thumbnail(210),
            },
            {"id": 2, "start_frame": 60, "duration_frames": 36, "label": "Kettle close-up", "status": "running 40%"},
            {
                "id": 3,
                "start_frame": 120,
                "duration_frames": 48,
                "label": "Cat reacts",
                "has_prompts": False,
                "thumbnail": _thumbnail(30),
            },
            {
                "id": 4,
                "start_frame": 192,
                "duration_frames": 60,
                "label": "Window rain",
                "status": "queued",
                "thumbnail": _thumbnail(250),
            },
            {"id": 5, "start_frame": 276, "duration_frames": 36, "label": "Title card", "status": "failed"},
        ]
        for i, clip in enumerate(clips):
            clip["color"] = PALETTE[i % len(PALETTE)]
        return clips[:count]
    clips = []
    frame = 0
    for i in range(count):
        duration = 24 + (i * 37) % 72
        clips.append(
            {
                "id": i + 1,
                "start_frame": frame,
                "duration_frames": duration,
                "label": f"Shot {i + 1:03d}",
                "color": PALETTE[i % len(PALETTE)],
                "status": ["done", "queued", "running 70%", None, "failed"][i % 5],
                "thumbnail": _thumbnail(i * 47 % 360) if i % 3 == 0 else None,
                "has_prompts": i % 7 != 3,
            }
        )
        frame += duration + (i % 4) * 6
    return clips


def flag_overlaps(clips: list[dict[str, Any]]) -> None:
    for clip in clips:
        clip["overlap"] = False
    ordered = sorted(clips, key=lambda c: c["start_frame"])
    for i, a in enumerate(ordered):
        a_end = a["start_frame"] + a["duration_frames"]
        for b in ordered[i + 1 :]:
            if b["start_frame"] >= a_end:
                break
            a["overlap"] = b["overlap"] = True


@ui.page("/")
def index(n: int = 5, beats: int = 0, ruler: str = "seconds", ppf: float = 4.0, snap: int = 1, apply: int = 1) -> None:
    ui.dark_mode(True)
    ui.add_css((ROOT / "components" / "theme.css").read_text())
    ui.query("body").style("background: #15171c")
    clips = sample_clips(n)
    flag_overlaps(clips)
    scene_frames = max(SCENE_FRAMES, max((c["start_frame"] + c["duration_frames"] for c in clips), default=0))
    events: list[dict[str, Any]] = []
    beat_frames = list(range(0, scene_frames + 1, FPS // 2)) if beats else None

    with ui.column().classes("w-full p-4 gap-2"):
        with ui.row().classes("w-full items-center gap-2"):
            ui.label("Scene 3 · Kitchen at dawn").classes("text-white text-sm font-medium")
            ui.label(f"{len(clips)} clips · {FPS} fps").classes("sc-muted text-xs")
            ui.space()
            zoom_out = ui.button(icon="zoom_out").props('flat dense round size=sm data-testid="zoom-out"')
            zoom_in = ui.button(icon="zoom_in").props('flat dense round size=sm data-testid="zoom-in"')
            fit = ui.button(icon="fit_screen").props('flat dense round size=sm data-testid="zoom-fit"')
            ruler_toggle = ui.toggle(list(RULER_MODES), value=ruler).props(
                'dense no-caps size=sm toggle-color=primary data-testid="ruler-mode"'
            )
            snap_switch = ui.switch("Snap", value=bool(snap)).props('dense data-testid="snap"')
        editor = TimelineEditor(
            clips,
            fps=FPS,
            scene_frames=scene_frames,
            px_per_frame=ppf,
            ruler=ruler,
            snap=bool(snap),
            beat_frames=beat_frames,
        ).classes("w-full")
        editor.props('data-testid="timeline"')
        with ui.row().classes("w-full gap-6 text-xs sc-muted"):
            selected_label = ui.label("selected: []").props('data-testid="selected"')
            ppf_label = ui.label(f"px/frame: {editor.px_per_frame:g}").props('data-testid="ppf"')
            playhead_label = ui.label("playhead: 0").props('data-testid="playhead-frame"')
            ui.space()
            ui.label("From Python:").classes("text-xs")
            py_select = ui.button("select 2, 4").props('flat dense no-caps size=sm data-testid="py-select"')
            py_playhead = ui.button("playhead → 200").props('flat dense no-caps size=sm data-testid="py-playhead"')
            py_zoom = ui.button("zoom 8 px/f").props('flat dense no-caps size=sm data-testid="py-zoom"')
        log = (
            ui.label("").classes("w-full whitespace-pre-wrap font-mono text-xs sc-muted").props('data-testid="events"')
        )

    py_select.on_click(lambda: (editor.select([2, 4]), selected_label.set_text(f"selected: {editor.selected}")))
    py_playhead.on_click(lambda: editor.set_playhead(200))
    py_zoom.on_click(lambda: editor.set_zoom(8))
    zoom_out.on_click(editor.zoom_out)
    zoom_in.on_click(editor.zoom_in)
    fit.on_click(editor.zoom_to_fit)
    ruler_toggle.on_value_change(lambda e: editor.set_ruler(e.value))
    snap_switch.on_value_change(lambda e: editor.set_snap(e.value))

    def by_id(clip_id: int) -> dict[str, Any] | None:
        return next((c for c in clips if c["id"] == clip_id), None)

    def send_back() -> None:
        if apply:
            flag_overlaps(clips)
        editor.set_clips(clips)

    def on_move(args: dict[str, Any]) -> None:
        if apply:
            for clip_id in args["clip_ids"]:
                clip = by_id(clip_id)
                if clip:
                    clip["start_frame"] += args["delta_frames"]
        send_back()

    def on_trim(args: dict[str, Any]) -> None:
        clip = by_id(args["clip_id"])
        if apply and clip:
            clip["start_frame"] = args["start_frame"]
            clip["duration_frames"] = args["duration_frames"]
        send_back()

    def on_key(args: dict[str, Any]) -> None:
        if not apply:
            return
        if args["key"] == "split":
            at = args["playhead"]
            for clip_id in args["clip_ids"]:
                clip = by_id(clip_id)
                if clip and clip["start_frame"] < at < clip["start_frame"] + clip["duration_frames"]:
                    tail = {
                        **clip,
                        "id": max(c["id"] for c in clips) + 1,
                        "start_frame": at,
                        "duration_frames": clip["start_frame"] + clip["duration_frames"] - at,
                        "label": clip["label"] + " (b)",
                    }
                    clip["duration_frames"] = at - clip["start_frame"]
                    clips.append(tail)
            send_back()
        elif args["key"] == "delete":
            clips[:] = [c for c in clips if c["id"] not in set(args["clip_ids"])]
            send_back()

    handlers = {"move": on_move, "trim": on_trim, "key": on_key}

    def make_logger(name: str):
        def handle(e: GenericEventArguments) -> None:
            args = dict(e.args or {})
            events.append({"type": name, **args})
            log.set_text("\n".join(json.dumps(ev) for ev in events[-300:]))
            selected_label.set_text(f"selected: {editor.selected}")
            ppf_label.set_text(f"px/frame: {editor.px_per_frame:g}")
            playhead_label.set_text(f"playhead: {editor.playhead_frame}")
            if name in handlers:
                handlers[name](args)

        return handle

    for name in EVENTS:
        editor.on(name, make_logger(name))


if __name__ in {"__main__", "__mp_main__"}:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    ui.run(
        host="127.0.0.1",
        port=port,
        reload=False,
        show=False,
        title="Timeline harness",
        dark=True,
        show_welcome_message=False,
    )
