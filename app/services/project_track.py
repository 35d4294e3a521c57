"""The project-wide track's view-model: every scene end to end with its clips' timings, in a few queries.

Overlapping clips are assigned lanes here so the page only draws; the layout in pixels stays with the widget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from data.frames import frames_to_seconds, seconds_to_frames, supports_drop_frame
from data.models import Clip, User

from . import projects
from .editor_settings import editor_settings
from .scene_overview import scene_summaries

MAX_LANES = 3  # overlapping clips stack in up to three thin lanes; more share the last one


@dataclass(frozen=True)
class TrackClip:
    id: int
    start_frame: int  # from the scene's start
    duration_frames: int
    color: str
    label: str
    lane: int
    overlaps: bool


@dataclass(frozen=True)
class TrackScene:
    id: int
    position: int
    name: str
    start_frame: int  # from the project's start: the scenes before it, end to end
    duration_frames: int
    clips: tuple[TrackClip, ...]
    overlaps: tuple[tuple[int, int], ...]  # (start, end) frames within the scene where two clips share time
    lanes: int

    @property
    def overlap_count(self) -> int:
        return len(self.overlaps)


@dataclass(frozen=True)
class ProjectTrack:
    project_id: int
    fps: float
    ruler: str
    drop_frame: bool
    total_frames: int
    target_frames: int
    scenes: tuple[TrackScene, ...]
    clip_scene_ids: dict[int, int] = field(default_factory=dict)  # clip id → scene id, for links to scenes

    @property
    def clip_count(self) -> int:
        return len(self.clip_scene_ids)

    def seconds(self, frames: int) -> float:
        return frames_to_seconds(frames, self.fps)


def _lanes(spans: list[tuple[int, int, int]]) -> tuple[dict[int, int], int]:
    """Greedy interval packing: a clip goes to the first lane free at its start (spans sorted by start)."""
    lane_ends: list[int] = []
    lanes: dict[int, int] = {}
    for clip_id, start, end in spans:
        for index, lane_end in enumerate(lane_ends):
            if lane_end <= start:
                lane_ends[index] = end
                lanes[clip_id] = index
                break
        else:
            if len(lane_ends) < MAX_LANES:
                lane_ends.append(end)
                lanes[clip_id] = len(lane_ends) - 1
            else:
                lanes[clip_id] = MAX_LANES - 1
                lane_ends[-1] = max(lane_ends[-1], end)
    return lanes, max(1, len(lane_ends))


def _overlaps(spans: list[tuple[int, int, int]]) -> tuple[set[int], list[tuple[int, int]]]:
    """The clips that share time with another, and the shared stretches merged (spans sorted by start)."""
    flagged: set[int] = set()
    shared: list[tuple[int, int]] = []
    for index, (first_id, first_start, first_end) in enumerate(spans):
        for second_id, second_start, second_end in spans[index + 1 :]:
            if second_start >= first_end:
                break
            flagged.update((first_id, second_id))
            shared.append((max(first_start, second_start), min(first_end, second_end)))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(shared):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return flagged, merged


def project_track(session: Session, actor: User, project_id: int) -> ProjectTrack:
    """The project's scenes in order, end to end, with their clips' timings; NotFound for another user's project."""
    project = projects.get_project(session, actor, project_id)
    settings = editor_settings(project)
    summaries = scene_summaries(session, actor, project_id)
    rows = session.exec(
        select(Clip.id, Clip.scene_id, Clip.start_frame, Clip.duration_frames, Clip.color, Clip.label)  # type: ignore[call-overload]  # sqlmodel's select is typed for at most four columns
        .where(Clip.project_id == project_id)
        .order_by(col(Clip.scene_id), col(Clip.start_frame), col(Clip.id))
    ).all()
    by_scene: dict[int, list[tuple[int, int, int, str, str]]] = {}
    for clip_id, scene_id, start, duration, color, label in rows:
        by_scene.setdefault(scene_id, []).append((clip_id, start, duration, color, label))

    scenes: list[TrackScene] = []
    clip_scene_ids: dict[int, int] = {}
    offset = 0
    for summary in summaries:
        entries = by_scene.get(summary.id, [])
        spans = [(clip_id, start, start + duration) for clip_id, start, duration, _, _ in entries]
        lanes, lane_count = _lanes(spans)
        flagged, shared = _overlaps(spans)
        clips = tuple(
            TrackClip(clip_id, start, duration, color, label or f"Clip {clip_id}", lanes[clip_id], clip_id in flagged)
            for clip_id, start, duration, color, label in entries
        )
        clip_scene_ids.update({clip.id: summary.id for clip in clips})
        scenes.append(
            TrackScene(
                summary.id,
                summary.position,
                summary.name,
                offset,
                summary.duration_frames,
                clips,
                tuple(shared),
                lane_count,
            )
        )
        offset += summary.duration_frames
    return ProjectTrack(
        project_id=project_id,
        fps=project.fps,
        ruler=settings.ruler,
        drop_frame=settings.drop_frame and supports_drop_frame(project.fps),
        total_frames=offset,
        target_frames=seconds_to_frames(project.target_duration, project.fps),
        scenes=tuple(scenes),
        clip_scene_ids=clip_scene_ids,
    )
