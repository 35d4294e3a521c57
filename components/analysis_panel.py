"""What timeline analysis found, laid out for a director: the export verdict first, then what to fix and where.

Takes the dict of ``timeline_analysis.analyse_project`` (the REST contract) as it is; draws plain elements.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nicegui import ui
from nicegui.client import Client

from data.words import counted

from .scene_list import format_seconds

MAX_LISTED = 6  # overlaps / gaps shown at once; the rest wait behind "n more"

_CSS = """
.sc-analysis .q-card { padding: 10px 12px; }
.sc-share-row { display: grid; grid-template-columns: minmax(90px, 180px) 1fr 56px 40px; gap: 8px; align-items: center;
  font-size: 12px; line-height: 18px; }
.sc-share-track { height: 8px; border-radius: 2px; background: rgba(128,128,128,.18); overflow: hidden; }
.sc-share-bar { height: 100%; background: var(--sc-accent); border-radius: 2px; }
.sc-finding { border-left: 2px solid #fa5252; padding: 2px 0 2px 8px; }
.sc-finding.sc-gap { border-left-color: #5c7cfa; }
"""


_styled_clients: weakref.WeakSet[Client] = weakref.WeakSet()


def _heading(title: str, count: int | None = None, *, bad: bool = False, testid: str = "") -> None:
    with ui.row().classes("items-center gap-2"):
        ui.label(title).classes("text-subtitle2")
        if count is not None:
            color = ("negative" if bad else "blue-grey-7") if count else "blue-grey-9"
            badge = ui.badge(str(count), color=color)
            if testid:
                badge.props["data-testid"] = testid


def _listed(items: Sequence[Any], draw: Callable[[Any], None], noun: str) -> None:
    """The first few items; the rest folded away so fifty gaps do not push everything else off the screen."""
    for item in items[:MAX_LISTED]:
        draw(item)
    rest = items[MAX_LISTED:]
    if not rest:
        return

    def unfold() -> None:  # drawn on first opening: a project with 200 gaps should not pay for them on every load
        if not more.default_slot.children:
            with more:
                for item in rest:
                    draw(item)

    more = ui.expansion(f"{len(rest)} more {noun}", on_value_change=unfold).props("dense").classes("w-full text-xs")


def analysis_panel(report: Mapping[str, Any], project_id: int) -> None:
    """The verdict chip (or the reasons), duration against the target, each scene's share of it, then overlaps,
    gaps and clips without prompts, each named and linked to where it can be fixed."""
    client = ui.context.client
    if client not in _styled_clients:  # the panel is redrawn on every change; its styles go in once per page
        ui.add_css(_CSS)
        _styled_clients.add(client)
    scenes = list(report.get("scenes") or [])
    names = {scene["scene_id"]: scene["name"] for scene in scenes}
    with ui.column().classes("sc-analysis w-full gap-3").props('data-testid="analysis-panel"'):
        ui.label("Timeline analysis").classes("text-subtitle1")
        if not scenes:
            with ui.column().classes("sc-empty w-full items-center py-6 gap-1").props('data-testid="analysis-empty"'):
                ui.icon("insights", size="28px").classes("sc-muted")
                ui.label("Nothing to analyse yet.").classes("text-subtitle2")
                ui.label(
                    "Add scenes on the project dashboard, then clips on each scene's timeline: overlaps, gaps, "
                    "durations and the export verdict appear here as you go."
                ).classes("sc-muted text-center")
                ui.link("Open the dashboard", f"/projects/{project_id}")
            return
        _verdict(report, scenes)
        with ui.element("div").classes("w-full grid gap-3 md:grid-cols-2 items-start"):
            with ui.card().classes("w-full gap-2").props("flat bordered"):
                _durations(report, scenes)
            with ui.column().classes("w-full gap-3"):
                with ui.card().classes("w-full gap-1").props("flat bordered"):
                    _overlaps(report, names)
                with ui.card().classes("w-full gap-1").props("flat bordered"):
                    _gaps(report, names)
                with ui.card().classes("w-full gap-1").props("flat bordered"):
                    _without_prompts(report, names)


def _verdict(report: Mapping[str, Any], scenes: list[dict[str, Any]]) -> None:
    with ui.row().classes("w-full items-start gap-3 no-wrap"):
        if report["export_ready"]:
            ui.chip("Export ready", icon="check_circle", color="positive", text_color="white").props(
                'dense square data-testid="export-verdict"'
            )
            ui.label("No overlaps; every clip has both prompts and a chosen result.").classes("sc-muted self-center")
            return
        ui.chip("Not ready to export", icon="error_outline", color="warning", text_color="white").props(
            'dense square data-testid="export-verdict"'
        )
        with ui.column().classes("gap-0 self-center"):
            for reason in report["reasons"]:
                with ui.row().classes("items-center gap-1 no-wrap"):
                    ui.icon("warning_amber", size="16px", color="warning")
                    ui.label(reason).props('data-testid="export-reason"')
            if not any(scene["clip_count"] for scene in scenes):
                with ui.row().classes("items-center gap-1 text-xs"):
                    ui.label("Start with").classes("sc-muted")
                    ui.link(f"the first scene's timeline ({scenes[0]['name']})", f"/scenes/{scenes[0]['scene_id']}")


def _durations(report: Mapping[str, Any], scenes: list[dict[str, Any]]) -> None:
    total, target = float(report["total_duration"]), float(report["target_duration"])
    _heading("Duration")
    ratio = total / target if target else 0.0
    with ui.row().classes("w-full items-baseline gap-2"):
        ui.label(format_seconds(total)).classes("text-h6").props('data-testid="analysis-total"')
        ui.label(f"of {format_seconds(target)} target · {ratio:.0%}").classes("sc-muted").props(
            'data-testid="analysis-target"'
        )
    difference = total - target
    if abs(difference) < 0.05:
        note, color = "Right on the target.", "positive"
    elif difference < 0:
        note, color = f"{format_seconds(-difference)} to go until the target.", "primary"
    else:
        note, color = f"{format_seconds(difference)} over the target.", "warning"
    ui.linear_progress(min(ratio, 1.0), show_value=False, color=color).props(
        'rounded size=6px aria-label="Duration against the target"'
    )
    ui.label(note).classes("text-xs sc-muted").props('data-testid="analysis-duration-note"')

    _heading("Per scene", len(scenes))
    longest = max((scene["share"] for scene in scenes), default=0) or 1.0  # bars against the longest scene
    with ui.column().classes("w-full gap-0 max-h-[420px] overflow-y-auto no-wrap").props('data-testid="scene-shares"'):
        for scene in scenes:
            with ui.element("div").classes("sc-share-row w-full").props('data-testid="scene-share"'):
                ui.link(f"{scene['name']}", f"/scenes/{scene['scene_id']}").classes("ellipsis text-inherit")
                with ui.element("div").classes("sc-share-track"):
                    ui.element("div").classes("sc-share-bar").style.update(
                        {"width": f"{100 * scene['share'] / longest:.2f}%"}
                    )
                ui.label(format_seconds(scene["duration"]) if scene["duration"] else "—").classes(
                    "text-right font-mono"
                )
                ui.label(f"{scene['share']:.0%}").classes("text-right sc-muted")


def _scene_link(names: Mapping[int, str], scene_id: int) -> None:
    ui.link(names.get(scene_id, f"Scene {scene_id}"), f"/scenes/{scene_id}").classes("font-medium")


def _overlaps(report: Mapping[str, Any], names: Mapping[int, str]) -> None:
    overlaps = list(report["overlaps"])
    _heading("Overlaps", len(overlaps), bad=True, testid="overlap-count")
    if not overlaps:
        ui.label("No clips overlap.").classes("sc-muted text-xs")
        return

    def draw(overlap: dict[str, Any]) -> None:
        with ui.column().classes("sc-finding w-full gap-0").props('data-testid="overlap"'):
            with ui.row().classes("items-center gap-1"):
                _scene_link(names, overlap["scene_id"])
                ui.label(f"· {overlap['seconds']:g} s shared").classes("sc-muted text-xs")
            ui.label(overlap["suggestion"]).classes("text-xs")

    _listed(overlaps, draw, "overlaps")


def _gaps(report: Mapping[str, Any], names: Mapping[int, str]) -> None:
    gaps = list(report["gaps"])
    _heading("Gaps", len(gaps), testid="gap-count")
    if not gaps:
        ui.label("No empty stretches inside scenes.").classes("sc-muted text-xs")
        return
    ui.label("Gaps do not block the export; fill or close them if the cut should not pause.").classes(
        "sc-muted text-xs"
    )

    def draw(gap: dict[str, Any]) -> None:
        with ui.column().classes("sc-finding sc-gap w-full gap-0").props('data-testid="gap"'):
            with ui.row().classes("items-center gap-1"):
                _scene_link(names, gap["scene_id"])
                ui.label(f"· {gap['start']:g} s – {gap['end']:g} s").classes("sc-muted text-xs")
            ui.label(gap["suggestion"]).classes("text-xs")

    _listed(gaps, draw, "gaps")


def _without_prompts(report: Mapping[str, Any], names: Mapping[int, str]) -> None:
    missing = list(report["clips_without_prompts"])
    _heading("Clips without prompts", len(missing), bad=True, testid="without-prompts-count")
    if not missing:
        ui.label("Every clip has an image and a video prompt.").classes("sc-muted text-xs")
        return
    ui.label(f"{counted(len(missing), 'clip')} still need an image or a video prompt (or both).").classes("text-xs")
    named = list(report.get("clips_without_prompts_named") or [])

    def draw(clip: dict[str, Any]) -> None:
        with ui.row().classes("items-center gap-1 no-wrap text-xs").props('data-testid="without-prompts-clip"'):
            ui.link(clip["label"], f"/scenes/{clip['scene_id']}?clip={clip['clip_id']}").classes("font-medium")
            ui.label("in").classes("sc-muted")
            _scene_link(names, clip["scene_id"])
            ui.label(f"· no {' or '.join(clip['lacks'])} prompt").classes("sc-muted")

    _listed(named, draw, "clips")
