"""Clips on a scene's timeline: whole-frame times, limits, the overlap policies, create, edit, move, delete.

Every time is a whole number of frames at the project's rate. Callers may pass seconds, converted
once here, so no sequence of edits can drift. Every edit locks the project (scenes.lock_project),
works on the scene's rows, and either commits all of it or rolls all of it back (scenes.atomic).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any, get_args

from sqlalchemy import func
from sqlmodel import Session, col, select

from data import frames
from data.errors import Conflict, Invalid, Stale
from data.models import CLIP_TEXT_LIMITS, Clip, GalleryItem, OverlapPolicy, Project, Scene, User
from data.models._common import utcnow
from data.words import counted

from . import events, projects, prompt_history, scenes
from .scenes import atomic

MAX_SECONDS = 6 * 3600
DEFAULT_CLIP_SECONDS = 3.0
DEFAULT_COLOR = "#5c7cfa"
MAX_PASTE = 1000
TEXT_LIMITS = CLIP_TEXT_LIMITS  # the fields cleaned on every write, with their limits (data/models)
_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")


def end_frame(clip: Clip) -> int:
    return clip.start_frame + clip.duration_frames


def clip_name(clip: Clip) -> str:
    return f"“{clip.label}”" if clip.label else (f"clip {clip.id}" if clip.id else "the new clip")


def _shared(a: Clip, b: Clip) -> int:
    return min(end_frame(a), end_frame(b)) - max(a.start_frame, b.start_frame)


def find_overlaps(clips: list[Clip]) -> list[tuple[Clip, Clip, int]]:
    """Every pair of clips of one scene sharing frames, earlier first, with the shared frame count (pure)."""
    ordered = sorted(clips, key=lambda c: (c.scene_id, c.start_frame, c.id or 0))
    pairs: list[tuple[Clip, Clip, int]] = []
    for index, first in enumerate(ordered):
        for second in ordered[index + 1 :]:
            if second.scene_id != first.scene_id or second.start_frame >= end_frame(first):
                break
            pairs.append((first, second, _shared(first, second)))
    return pairs


def refresh_overlap_flags(clips: list[Clip]) -> None:
    """overlap_allowed marks exactly the clips that overlap another one now (the warning), nothing else."""
    flagged = {id(clip) for pair in find_overlaps(clips) for clip in pair[:2]}
    for clip in clips:
        if clip.overlap_allowed != (id(clip) in flagged):
            clip.overlap_allowed = id(clip) in flagged


def _ripple(others: list[Clip], landed: list[Clip]) -> None:
    first_start = min(c.start_frame for c in landed)
    for clip in others:
        if clip.start_frame < first_start and any(_shared(clip, g) > 0 for g in landed):
            raise Invalid(
                f"Ripple only pushes the clips that come later; {clip_name(clip)} starts earlier and runs into the "
                "moved clip. Choose trim or allow, or place the clip after it.",
                field="overlap",
            )
    followers = [c for c in others if c.start_frame >= first_start]
    shift, pending = 0, True
    while pending:  # the smallest common shift: each step is needed, and a resolved pair stays resolved
        pending = False
        for clip in followers:
            for moved in landed:
                if clip.start_frame + shift < end_frame(moved) and end_frame(clip) + shift > moved.start_frame:
                    shift, pending = end_frame(moved) - clip.start_frame, True
    for clip in followers if shift else []:
        clip.start_frame += shift
        clip.updated_at = utcnow()


def _trim(others: list[Clip], landed: list[Clip]) -> None:
    for moved in sorted(landed, key=lambda c: c.start_frame):
        for clip in others:
            if _shared(clip, moved) <= 0:
                continue
            if clip.start_frame < moved.start_frame:
                clip.duration_frames = moved.start_frame - clip.start_frame
            else:
                remaining = end_frame(clip) - end_frame(moved)
                if remaining <= 0:
                    raise Invalid(
                        f"Trimming would leave nothing of {clip_name(clip)}, which lies under the moved clip; "
                        "choose ripple to push it later instead.",
                        field="overlap",
                    )
                clip.start_frame, clip.duration_frames = end_frame(moved), remaining
            clip.updated_at = utcnow()


def apply_overlap_policy(clips: list[Clip], landed: list[Clip], policy: OverlapPolicy, limit: int) -> None:
    """After `landed` clips land among a scene's `clips` (which include them):

    - allow: nothing moves; the clips involved are flagged overlap_allowed (cleared once they no longer overlap);
    - ripple: every clip starting at/after the first landed clip's start (not landed itself) moves right by the
      smallest common shift that clears them all, keeping their spacing; an earlier clip running into the landed
      ones cannot be fixed by ripple and is Invalid;
    - trim: a clip starting earlier is cut to end at the landed clip's start, a later one starts at its end
      (shortened); a neighbour that would vanish is Invalid (ripple is the way then).
    """
    moved = {id(clip) for clip in landed}
    others = [clip for clip in clips if id(clip) not in moved]
    if policy == "ripple":
        _ripple(others, landed)
    elif policy == "trim":
        _trim(others, landed)
    for clip in clips:
        if end_frame(clip) > limit:
            raise Invalid(f"This would push {clip_name(clip)} past 6 hours from the scene start.", field="overlap")
    refresh_overlap_flags(clips)


# --- checks and conversions -----------------------------------------------------------------------


def default_clip_seconds(project: Project) -> float:
    """Project.settings["default_clip_duration"] (seconds), 3 s when unset or unusable."""
    try:
        value = float((project.settings or {}).get("default_clip_duration", DEFAULT_CLIP_SECONDS))
    except (TypeError, ValueError):
        return DEFAULT_CLIP_SECONDS
    return value if math.isfinite(value) and value > 0 else DEFAULT_CLIP_SECONDS


def parse_policy(overlap: str) -> OverlapPolicy:
    if overlap not in get_args(OverlapPolicy):
        raise Invalid("The overlap choice is allow, ripple or trim.", field="overlap")
    return overlap  # type: ignore[return-value]  # checked against the Literal's values just above


def to_frames(seconds: float | None, count: int | None, fps: float, field: str) -> int | None:
    if seconds is not None and count is not None:
        raise Invalid(f"Give the {field} in seconds or in frames, not both.", field=field)
    if count is not None:
        if isinstance(count, bool) or not isinstance(count, int):
            raise Invalid(f"The {field} in frames is a whole number.", field=field)
        return count
    if seconds is None:
        return None
    try:
        return frames.seconds_to_frames(seconds, fps)
    except Invalid:
        raise Invalid(f"The {field} is a number of seconds.", field=field) from None


def check_span(start: int, duration: int, limit: int, fps: float) -> None:
    if start < 0:
        raise Invalid("A clip cannot start before the scene: the start must be 0 or later.", field="start")
    if duration < 1:
        raise Invalid(f"A clip lasts at least one frame ({frames.frame_duration(fps):.4f} s).", field="duration")
    if start + duration > limit:
        field = "start" if start >= limit else "duration"
        raise Invalid("A clip must end within 6 hours of the scene start.", field=field)


def clean_texts(**values: str | None) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for field, value in values.items():
        if value is None:
            continue
        if not isinstance(value, str):
            raise Invalid(f"The {field.replace('_', ' ')} is text.", field=field)
        value = value.strip() if field == "label" else value
        if len(value) > TEXT_LIMITS[field]:
            raise Invalid(f"The {field.replace('_', ' ')} is at most {TEXT_LIMITS[field]} characters.", field=field)
        cleaned[field] = value
    return cleaned


def clean_color(value: str) -> str:
    if not isinstance(value, str) or not _COLOR.match(value.strip()):
        raise Invalid("A colour is written like #5c7cfa.", field="color")
    return value.strip().lower()


def _same_instant(stored: datetime, expected: datetime) -> bool:
    """A naive time (a client that dropped the zone) is read as UTC, like every stored time."""
    if expected.tzinfo is None:
        expected = expected.replace(tzinfo=UTC)
    if stored.tzinfo is None:
        stored = stored.replace(tzinfo=UTC)
    return stored == expected


def clips_of_scene(session: Session, scene_id: int) -> list[Clip]:
    query = select(Clip).where(Clip.scene_id == scene_id).order_by(col(Clip.start_frame), col(Clip.id))
    return list(session.exec(query.execution_options(populate_existing=True)))


def check_still_in(scene_clips: list[Clip], chosen: list[Clip]) -> None:
    """Clips read before the lock may have been moved to another scene by someone else meanwhile."""
    present = {id(clip) for clip in scene_clips}
    if any(id(clip) not in present for clip in chosen):
        raise Conflict("Some of these clips were just moved elsewhere; look again and retry.", field="clip_ids")


def begin_edit(session: Session, project_id: int) -> tuple[Project, int]:
    project = scenes.lock_project(session, project_id)
    return project, frames.seconds_to_frames(MAX_SECONDS, project.fps)


def finish_edit(session: Session, actor: User, project_id: int, kind: str, message: str) -> None:
    scenes.log_edit(session, project_id, actor, kind, message)
    session.commit()
    events.emit(events.project_changed, project_id)


def clip_public(clip: Clip, fps: float) -> dict[str, Any]:
    """A clip for the API: times in seconds as well as frames."""
    data = clip.model_dump()
    data["start"] = frames.frames_to_seconds(clip.start_frame, fps)
    data["duration"] = frames.frames_to_seconds(clip.duration_frames, fps)
    data["end"] = frames.frames_to_seconds(end_frame(clip), fps)
    return data


# --- reading --------------------------------------------------------------------------------------


def list_clips(session: Session, actor: User, scene_id: int) -> list[Clip]:
    """A scene's clips by start frame, then id."""
    scene = scenes.get_scene(session, actor, scene_id)
    query = select(Clip).where(Clip.scene_id == scene.id).order_by(col(Clip.start_frame), col(Clip.id))
    return list(session.exec(query))


def get_clip(session: Session, actor: User, clip_id: int) -> Clip:
    """Another user's clip is NotFound; admins see all."""
    return projects.get_within(session, actor, Clip, clip_id, "Clip")


def get_clips(session: Session, actor: User, clip_ids: list[int]) -> list[Clip]:
    """All of them or NotFound; at least one."""
    ids = list(dict.fromkeys(clip_ids or []))
    if not ids:
        raise Invalid("Select at least one clip.", field="clip_ids")
    return [get_clip(session, actor, clip_id) for clip_id in ids]


# --- creating and changing ------------------------------------------------------------------------


@atomic
def create_clip(
    session: Session,
    actor: User,
    scene_id: int,
    *,
    start: float | None = None,
    duration: float | None = None,
    start_frame: int | None = None,
    duration_frames: int | None = None,
    image_prompt: str = "",
    video_prompt: str = "",
    label: str = "",
    notes: str = "",
    color: str | None = None,
    overlap: OverlapPolicy = "allow",
) -> Clip:
    """Start None = the first free position (end of the last clip); duration None = the project's default.
    Negative start, a duration under one frame, or an end past 6 hours is Invalid; then the overlap policy."""
    scene = scenes.get_scene(session, actor, scene_id)
    policy = parse_policy(overlap)
    texts = clean_texts(image_prompt=image_prompt, video_prompt=video_prompt, label=label, notes=notes)
    project, limit = begin_edit(session, scene.project_id)
    clips = clips_of_scene(session, scene.id)  # type: ignore[arg-type]  # a stored row's id is never None
    begin = to_frames(start, start_frame, project.fps, "start")
    length = to_frames(duration, duration_frames, project.fps, "duration")
    if begin is None:
        begin = max((end_frame(clip) for clip in clips), default=0)
    if length is None:
        length = max(1, frames.seconds_to_frames(default_clip_seconds(project), project.fps))
    check_span(begin, length, limit, project.fps)
    clip = Clip(
        scene_id=scene.id,  # type: ignore[arg-type]  # a stored row's id is never None
        project_id=scene.project_id,
        start_frame=begin,
        duration_frames=length,
        color=DEFAULT_COLOR if color is None else clean_color(color),
        **texts,
    )
    session.add(clip)
    apply_overlap_policy([*clips, clip], [clip], policy, limit)
    session.flush()
    if clip.image_prompt or clip.video_prompt:
        prompt_history.record(session, actor, clip)
    finish_edit(session, actor, scene.project_id, "clip.created", f"Added a clip to “{scene.name}”")
    return clip


@atomic
def update_clip(
    session: Session,
    actor: User,
    clip_id: int,
    *,
    start: float | None = None,
    duration: float | None = None,
    start_frame: int | None = None,
    duration_frames: int | None = None,
    image_prompt: str | None = None,
    video_prompt: str | None = None,
    label: str | None = None,
    notes: str | None = None,
    color: str | None = None,
    overlap: OverlapPolicy = "allow",
    expected_updated_at: datetime | None = None,
) -> Clip:
    """Only given fields change; a new start or duration is checked like on creation and lands by the policy.

    With `expected_updated_at` (the clip's updated_at the caller's edit started from), a clip changed by
    anyone since is Stale and nothing is written: a save from an old version never overwrites a newer one.
    A new wording of either prompt is kept in the clip's prompt history."""
    clip = get_clip(session, actor, clip_id)
    policy = parse_policy(overlap)
    changes: dict[str, Any] = clean_texts(
        image_prompt=image_prompt, video_prompt=video_prompt, label=label, notes=notes
    )
    if color is not None:
        changes["color"] = clean_color(color)
    project, limit = begin_edit(session, clip.project_id)
    clips = clips_of_scene(session, clip.scene_id)  # re-reads the clip under the lock
    if expected_updated_at is not None and not _same_instant(clip.updated_at, expected_updated_at):
        raise Stale(
            f"{clip_name(clip).capitalize()} was changed elsewhere since this edit started; nothing was saved.",
            field="expected_updated_at",
        )
    begin = to_frames(start, start_frame, project.fps, "start")
    length = to_frames(duration, duration_frames, project.fps, "duration")
    changes["start_frame"] = clip.start_frame if begin is None else begin
    changes["duration_frames"] = clip.duration_frames if length is None else length
    check_span(changes["start_frame"], changes["duration_frames"], limit, project.fps)
    changes = {key: value for key, value in changes.items() if getattr(clip, key) != value}
    if not changes:
        session.rollback()  # frees the lock; nothing to write
        return clip
    before, before_at = (clip.image_prompt, clip.video_prompt), clip.updated_at
    for key, value in changes.items():
        setattr(clip, key, value)
    clip.updated_at = utcnow()
    if {"start_frame", "duration_frames"} & changes.keys():
        apply_overlap_policy(clips, [clip], policy, limit)
    if {"image_prompt", "video_prompt"} & changes.keys():
        prompt_history.record(session, actor, clip, before, before_at)
    scene = session.get(Scene, clip.scene_id)
    finish_edit(session, actor, clip.project_id, "clip.updated", f"Edited {clip_name(clip)} in “{scene.name}”")  # type: ignore[union-attr]  # the clip's scene exists: clips go with their scene
    return clip


@atomic
def move_clips(
    session: Session,
    actor: User,
    clip_ids: list[int],
    delta_frames: int,
    overlap: OverlapPolicy = "allow",
    target_scene_id: int | None = None,
) -> list[Clip]:
    """Move clips of one scene together by whole frames, optionally into another scene of the same project.
    Any start below 0 is Invalid and nothing moves. Returns the (target) scene's clips in order."""
    moving = get_clips(session, actor, clip_ids)
    policy = parse_policy(overlap)
    if len({clip.scene_id for clip in moving}) > 1:
        raise Invalid("Move clips of one scene at a time.", field="clip_ids")
    if isinstance(delta_frames, bool) or not isinstance(delta_frames, int):
        raise Invalid("A move is a whole number of frames.", field="delta_frames")
    source = scenes.get_scene(session, actor, moving[0].scene_id)
    target = source if target_scene_id in (None, source.id) else scenes.get_scene(session, actor, target_scene_id)
    if target.project_id != source.project_id:
        raise Invalid("Clips can only move to a scene of the same project.", field="target_scene_id")
    project, limit = begin_edit(session, source.project_id)
    source_clips = clips_of_scene(session, source.id)  # type: ignore[arg-type]  # a stored row's id is never None
    check_still_in(source_clips, moving)
    for clip in sorted(moving, key=lambda c: c.start_frame):
        if clip.start_frame + delta_frames < 0:
            raise Invalid(
                f"Moving by {delta_frames} frames would put {clip_name(clip)} before the scene start.",
                field="delta_frames",
            )
        clip.start_frame += delta_frames
        clip.scene_id = target.id  # type: ignore[assignment]  # a stored row's id is never None
        clip.updated_at = utcnow()
        check_span(clip.start_frame, clip.duration_frames, limit, project.fps)
    if target is source:
        apply_overlap_policy(source_clips, moving, policy, limit)
    else:
        moved = {id(clip) for clip in moving}
        refresh_overlap_flags([clip for clip in source_clips if id(clip) not in moved])
        apply_overlap_policy(clips_of_scene(session, target.id), moving, policy, limit)  # type: ignore[arg-type]  # a stored row's id is never None
    count = f"{counted(len(moving), 'clip')}"
    where = f"to “{target.name}”" if target is not source else f"in “{source.name}”"
    finish_edit(session, actor, source.project_id, "clip.moved", f"Moved {count} {where}")
    return clips_of_scene(session, target.id)  # type: ignore[arg-type]  # a stored row's id is never None


def selected_results(session: Session, actor: User, clip_ids: list[int]) -> list[GalleryItem]:
    """The chosen result of each of these clips (what a merge must pick one of)."""
    get_clips(session, actor, clip_ids)
    return list(
        session.exec(
            select(GalleryItem).where(col(GalleryItem.clip_id).in_(clip_ids), GalleryItem.selected == True)  # noqa: E712
        )
    )


def clip_deletion_summary(session: Session, actor: User, clip_ids: list[int]) -> projects.DeletionSummary:
    """What deleting the clips removes, for the confirmation: "2 clips and 3 generated results and their files"."""
    ids = [clip.id for clip in get_clips(session, actor, clip_ids)]
    items = session.exec(select(func.count()).select_from(GalleryItem).where(col(GalleryItem.clip_id).in_(ids))).one()
    return projects.DeletionSummary(projects=0, scenes=0, clips=len(ids), gallery_items=items)


@atomic
def delete_clips(session: Session, actor: User, clip_ids: list[int]) -> int:
    """Clips and their results go (rows by cascade, files after the commit); neighbours' overlap flags update."""
    targets = get_clips(session, actor, clip_ids)
    project_ids = sorted({clip.project_id for clip in targets})
    for project_id in project_ids:  # a fixed order, so two deletions cannot wait on each other
        scenes.lock_project(session, project_id)
    ids = [clip.id for clip in targets]
    paths = scenes.result_paths(session.exec(select(GalleryItem).where(col(GalleryItem.clip_id).in_(ids))).all())
    scene_ids = {clip.scene_id for clip in targets}
    for clip in targets:
        session.delete(clip)
    session.flush()
    scenes.forget_deleted(session, ids)  # type: ignore[arg-type]  # ids of stored clips are never None
    for scene_id in scene_ids:
        refresh_overlap_flags(clips_of_scene(session, scene_id))
    for project_id in project_ids:
        count = sum(1 for clip in targets if clip.project_id == project_id)
        scenes.log_edit(session, project_id, actor, "clip.deleted", f"Deleted {counted(count, 'clip')}")
    session.commit()
    scenes.remove_result_files(session, paths)
    for project_id in project_ids:
        events.emit(events.project_changed, project_id)
    return len(ids)


# --- split, merge, gaps, clipboard ----------------------------------------------------------------


def restore_prompts(session: Session, actor: User, clip_id: int, n: int) -> Clip:
    """The clip's prompts become version n's again, saved as a new version (so the restore can be undone)."""
    get_clip(session, actor, clip_id)
    old = prompt_history.version(session, clip_id, n)
    return update_clip(session, actor, clip_id, image_prompt=old.image_prompt, video_prompt=old.video_prompt)
