"""Timeline analysis of a project: overlaps and gaps with suggested fixes, durations, and the export verdict.

The dict analyse_project returns is the REST contract of GET /api/v1/projects/{id}/timeline/analysis;
its keys do not change. Times are seconds from the scene's start, computed from whole frames.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from data.frames import frames_to_seconds
from data.models import Clip, GalleryItem, Scene, User
from data.words import counted

from . import projects
from .clips import end_frame, find_overlaps


def _name(clip: Clip) -> str:
    return f"“{clip.label}”" if clip.label else f"clip {clip.id}"


def _overlap_suggestion(first: Clip, second: Clip, fps: float) -> str:
    def at(frame: int) -> str:
        return f"{frames_to_seconds(frame, fps):g} s"

    if end_frame(second) <= end_frame(first):
        return (
            f"{_name(second)} lies entirely within {_name(first)}: move it to start at {at(end_frame(first))} "
            "(ripple pushes the clips after it), or delete one of them."
        )
    return (
        f"Move {_name(second)} to start at {at(end_frame(first))} (ripple pushes the clips after it), "
        f"or trim {_name(first)} to end at {at(second.start_frame)}."
    )


def _gaps(clips: list[Clip]) -> list[tuple[int, int]]:
    """Empty stretches between clips, and before the first one if it does not start at 0."""
    gaps: list[tuple[int, int]] = []
    covered_until = 0
    for clip in sorted(clips, key=lambda c: (c.start_frame, c.id)):
        if clip.start_frame > covered_until:
            gaps.append((covered_until, clip.start_frame))
        covered_until = max(covered_until, end_frame(clip))
    return gaps


def _gap_suggestion(start: int, end: int, fps: float) -> str:
    length, begin, finish = (frames_to_seconds(f, fps) for f in (end - start, start, end))
    if start == 0:
        return f"Nothing plays before {finish:g} s: add a clip there, or close the gap so the scene opens with a clip."
    return f"Add a clip from {begin:g} s to {finish:g} s, or close the gap (later clips move {length:g} s earlier)."


def analyse_project(session: Session, actor: User, project_id: int) -> dict[str, Any]:
    """Overlaps, gaps, durations per scene against the target, clips without prompts, and whether the project is
    ready to export: it is when it has clips, none overlap, all have both prompts and a selected result."""
    project = projects.get_project(session, actor, project_id)
    fps = project.fps
    scene_list = list(
        session.exec(select(Scene).where(Scene.project_id == project.id).order_by(col(Scene.position), col(Scene.id)))
    )
    all_clips = list(
        session.exec(select(Clip).where(Clip.project_id == project.id).order_by(col(Clip.start_frame), col(Clip.id)))
    )
    selected = set(
        session.exec(
            select(GalleryItem.clip_id).where(GalleryItem.project_id == project.id, GalleryItem.selected == True)  # noqa: E712
        ).all()
    )
    by_scene: dict[int, list[Clip]] = {scene.id: [] for scene in scene_list}  # type: ignore[misc]  # a stored row's id is never None
    for clip in all_clips:
        by_scene.setdefault(clip.scene_id, []).append(clip)

    overlaps: list[dict[str, Any]] = []
    gaps: list[dict[str, Any]] = []
    durations: dict[int, int] = {}
    without_prompts: list[int] = []
    named: list[dict[str, Any]] = []
    without_result = 0
    for scene in scene_list:
        clips = by_scene[scene.id]  # type: ignore[index]  # a stored row's id is never None
        durations[scene.id] = max((end_frame(clip) for clip in clips), default=0)  # type: ignore[index]  # a stored row's id is never None
        for first, second, shared in find_overlaps(clips):
            overlaps.append(
                {
                    "scene_id": scene.id,
                    "clip_ids": [first.id, second.id],
                    "seconds": frames_to_seconds(shared, fps),
                    "suggestion": _overlap_suggestion(first, second, fps),
                }
            )
        for start, end in _gaps(clips):
            gaps.append(
                {
                    "scene_id": scene.id,
                    "start": frames_to_seconds(start, fps),
                    "end": frames_to_seconds(end, fps),
                    "suggestion": _gap_suggestion(start, end, fps),
                }
            )
        for clip in clips:
            lacks = [
                kind for kind, text in (("image", clip.image_prompt), ("video", clip.video_prompt)) if not text.strip()
            ]
            if lacks:
                without_prompts.append(clip.id)  # type: ignore[arg-type]  # a stored row's id is never None
                named.append({"clip_id": clip.id, "scene_id": scene.id, "label": _name(clip), "lacks": lacks})
            if clip.id not in selected:
                without_result += 1

    total_frames = sum(durations.values())
    reasons: list[str] = []
    if not all_clips:
        reasons.append("The project has no clips yet.")
    if overlaps:
        reasons.append(f"{counted(len(overlaps), 'overlap')} between clips: move, ripple or trim them.")
    if without_prompts:
        verb = "lacks" if len(without_prompts) == 1 else "lack"
        reasons.append(f"{counted(len(without_prompts), 'clip')} {verb} an image or a video prompt.")
    if without_result:
        verb = "has" if without_result == 1 else "have"
        reasons.append(f"{counted(without_result, 'clip')} {verb} no selected result yet.")
    return {
        "overlaps": overlaps,
        "gaps": gaps,
        "total_duration": frames_to_seconds(total_frames, fps),
        "target_duration": project.target_duration,
        "scenes": [
            {
                "scene_id": scene.id,
                "name": scene.name,
                "duration": frames_to_seconds(durations[scene.id], fps),  # type: ignore[index]  # a stored row's id is never None
                "clip_count": len(by_scene[scene.id]),  # type: ignore[index]  # a stored row's id is never None
                "share": round(durations[scene.id] / total_frames, 4) if total_frames else 0.0,  # type: ignore[index]  # a stored row's id is never None
            }
            for scene in scene_list
        ],
        "clips_without_prompts": without_prompts,
        # The same clips with what a person needs to find them: the label (or "clip 12"), the scene, which prompts.
        "clips_without_prompts_named": named,
        "export_ready": not reasons,
        "reasons": reasons,
    }
