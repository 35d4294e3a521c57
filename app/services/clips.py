"""Clips on a scene's timeline: whole-frame times, the overlap policies and the editing operations.

Every time is a whole number of frames at the project's rate. Callers may pass seconds, converted
once here, so no sequence of edits can drift. Every edit locks the project (scenes.lock_project),
works on the scene's rows, and either commits all of it or rolls all of it back (scenes.atomic).
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal, get_args

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from data.models import Clip, ClipCharacterLink, ClipStyleLink, GalleryItem, GenerationJob, Project, Scene, User
from data.models._common import utcnow

from . import events, frames, projects, scenes
from .errors import Conflict, Invalid, NotFound
from .scenes import atomic

OverlapPolicy = Literal["allow", "ripple", "trim"]
MAX_SECONDS = 6 * 3600
DEFAULT_CLIP_SECONDS = 3.0
DEFAULT_COLOR = "#5c7cfa"
MAX_PASTE = 1000
_TEXT_LIMITS = {"image_prompt": 20000, "video_prompt": 20000, "label": 200, "notes": 10000}
_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_CLIPBOARD_TEXT = ("image_prompt", "video_prompt", "label", "notes", "color")


def end_frame(clip: Clip) -> int:
    return clip.start_frame + clip.duration_frames


def _name(clip: Clip) -> str:
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
                f"Ripple only pushes the clips that come later; {_name(clip)} starts earlier and runs into the "
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
                        f"Trimming would leave nothing of {_name(clip)}, which lies under the moved clip; "
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
            raise Invalid(f"This would push {_name(clip)} past 6 hours from the scene start.", field="overlap")
    refresh_overlap_flags(clips)


# --- checks and conversions -----------------------------------------------------------------------


def default_clip_seconds(project: Project) -> float:
    """Project.settings["default_clip_duration"] (seconds), 3 s when unset or unusable."""
    try:
        value = float((project.settings or {}).get("default_clip_duration", DEFAULT_CLIP_SECONDS))
    except (TypeError, ValueError):
        return DEFAULT_CLIP_SECONDS
    return value if math.isfinite(value) and value > 0 else DEFAULT_CLIP_SECONDS


def _policy(overlap: str) -> OverlapPolicy:
    if overlap not in get_args(OverlapPolicy):
        raise Invalid("The overlap choice is allow, ripple or trim.", field="overlap")
    return overlap  # type: ignore[return-value]


def _to_frames(seconds: float | None, count: int | None, fps: float, field: str) -> int | None:
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


def _check_span(start: int, duration: int, limit: int, fps: float) -> None:
    if start < 0:
        raise Invalid("A clip cannot start before the scene: the start must be 0 or later.", field="start")
    if duration < 1:
        raise Invalid(f"A clip lasts at least one frame ({frames.frame_duration(fps):.4f} s).", field="duration")
    if start + duration > limit:
        field = "start" if start >= limit else "duration"
        raise Invalid("A clip must end within 6 hours of the scene start.", field=field)


def _texts(**values: str | None) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for field, value in values.items():
        if value is None:
            continue
        if not isinstance(value, str):
            raise Invalid(f"The {field.replace('_', ' ')} is text.", field=field)
        value = value.strip() if field == "label" else value
        if len(value) > _TEXT_LIMITS[field]:
            raise Invalid(f"The {field.replace('_', ' ')} is at most {_TEXT_LIMITS[field]} characters.", field=field)
        cleaned[field] = value
    return cleaned


def _color(value: str) -> str:
    if not isinstance(value, str) or not _COLOR.match(value.strip()):
        raise Invalid("A colour is written like #5c7cfa.", field="color")
    return value.strip().lower()


def _scene_clips(session: Session, scene_id: int) -> list[Clip]:
    query = select(Clip).where(Clip.scene_id == scene_id).order_by(col(Clip.start_frame), col(Clip.id))
    return list(session.exec(query.execution_options(populate_existing=True)))


def _check_still_in(scene_clips: list[Clip], chosen: list[Clip]) -> None:
    """Clips read before the lock may have been moved to another scene by someone else meanwhile."""
    present = {id(clip) for clip in scene_clips}
    if any(id(clip) not in present for clip in chosen):
        raise Conflict("Some of these clips were just moved elsewhere; look again and retry.", field="clip_ids")


def _begin(session: Session, project_id: int) -> tuple[Project, int]:
    project = scenes.lock_project(session, project_id)
    return project, frames.seconds_to_frames(MAX_SECONDS, project.fps)


def _finish(session: Session, actor: User, project_id: int, kind: str, message: str) -> None:
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
    clip = session.get(Clip, clip_id)
    try:
        if clip is None:
            raise NotFound("")
        projects.get_project(session, actor, clip.project_id)
    except NotFound:
        raise NotFound(f"Clip {clip_id} does not exist or is not yours.") from None
    return clip


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
    policy = _policy(overlap)
    texts = _texts(image_prompt=image_prompt, video_prompt=video_prompt, label=label, notes=notes)
    project, limit = _begin(session, scene.project_id)
    clips = _scene_clips(session, scene.id)
    begin = _to_frames(start, start_frame, project.fps, "start")
    length = _to_frames(duration, duration_frames, project.fps, "duration")
    if begin is None:
        begin = max((end_frame(clip) for clip in clips), default=0)
    if length is None:
        length = max(1, frames.seconds_to_frames(default_clip_seconds(project), project.fps))
    _check_span(begin, length, limit, project.fps)
    clip = Clip(
        scene_id=scene.id,  # type: ignore[arg-type]
        project_id=scene.project_id,
        start_frame=begin,
        duration_frames=length,
        color=DEFAULT_COLOR if color is None else _color(color),
        **texts,
    )
    session.add(clip)
    apply_overlap_policy([*clips, clip], [clip], policy, limit)
    _finish(session, actor, scene.project_id, "clip.created", f"Added a clip to “{scene.name}”")
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
) -> Clip:
    """Only given fields change; a new start or duration is checked like on creation and lands by the policy."""
    clip = get_clip(session, actor, clip_id)
    policy = _policy(overlap)
    changes: dict[str, Any] = _texts(image_prompt=image_prompt, video_prompt=video_prompt, label=label, notes=notes)
    if color is not None:
        changes["color"] = _color(color)
    project, limit = _begin(session, clip.project_id)
    clips = _scene_clips(session, clip.scene_id)
    begin = _to_frames(start, start_frame, project.fps, "start")
    length = _to_frames(duration, duration_frames, project.fps, "duration")
    changes["start_frame"] = clip.start_frame if begin is None else begin
    changes["duration_frames"] = clip.duration_frames if length is None else length
    _check_span(changes["start_frame"], changes["duration_frames"], limit, project.fps)
    changes = {key: value for key, value in changes.items() if getattr(clip, key) != value}
    if not changes:
        session.rollback()  # frees the lock; nothing to write
        return clip
    for key, value in changes.items():
        setattr(clip, key, value)
    clip.updated_at = utcnow()
    if {"start_frame", "duration_frames"} & changes.keys():
        apply_overlap_policy(clips, [clip], policy, limit)
    scene = session.get(Scene, clip.scene_id)
    _finish(session, actor, clip.project_id, "clip.updated", f"Edited {_name(clip)} in “{scene.name}”")  # type: ignore[union-attr]
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
    policy = _policy(overlap)
    if len({clip.scene_id for clip in moving}) > 1:
        raise Invalid("Move clips of one scene at a time.", field="clip_ids")
    if isinstance(delta_frames, bool) or not isinstance(delta_frames, int):
        raise Invalid("A move is a whole number of frames.", field="delta_frames")
    source = scenes.get_scene(session, actor, moving[0].scene_id)
    target = source if target_scene_id in (None, source.id) else scenes.get_scene(session, actor, target_scene_id)  # type: ignore[arg-type]
    if target.project_id != source.project_id:
        raise Invalid("Clips can only move to a scene of the same project.", field="target_scene_id")
    project, limit = _begin(session, source.project_id)
    source_clips = _scene_clips(session, source.id)
    _check_still_in(source_clips, moving)
    for clip in sorted(moving, key=lambda c: c.start_frame):
        if clip.start_frame + delta_frames < 0:
            raise Invalid(
                f"Moving by {delta_frames} frames would put {_name(clip)} before the scene start.", field="delta_frames"
            )
        clip.start_frame += delta_frames
        clip.scene_id = target.id  # type: ignore[assignment]
        clip.updated_at = utcnow()
        _check_span(clip.start_frame, clip.duration_frames, limit, project.fps)
    if target is source:
        apply_overlap_policy(source_clips, moving, policy, limit)
    else:
        moved = {id(clip) for clip in moving}
        refresh_overlap_flags([clip for clip in source_clips if id(clip) not in moved])
        apply_overlap_policy(_scene_clips(session, target.id), moving, policy, limit)  # type: ignore[arg-type]
    count = f"{len(moving)} clip{'s' if len(moving) != 1 else ''}"
    where = f"to “{target.name}”" if target is not source else f"in “{source.name}”"
    _finish(session, actor, source.project_id, "clip.moved", f"Moved {count} {where}")
    return _scene_clips(session, target.id)  # type: ignore[arg-type]


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
    scenes.forget_deleted(session, ids)  # type: ignore[arg-type]
    for scene_id in scene_ids:
        refresh_overlap_flags(_scene_clips(session, scene_id))
    for project_id in project_ids:
        count = sum(1 for clip in targets if clip.project_id == project_id)
        scenes.log_edit(session, project_id, actor, "clip.deleted", f"Deleted {count} clip{'s' if count != 1 else ''}")
    session.commit()
    scenes.remove_result_files(session, paths)
    for project_id in project_ids:
        events.emit(events.project_changed, project_id)
    return len(ids)


# --- split, merge, gaps, clipboard ----------------------------------------------------------------


@atomic
def split_clip(
    session: Session, actor: User, clip_id: int, *, at: float | None = None, at_frame: int | None = None
) -> tuple[Clip, Clip]:
    """Split at a point strictly inside the clip, `at` in seconds from the SCENE start (like the playhead).
    The halves add up to the original exactly in frames; both keep the texts; results stay with the left."""
    clip = get_clip(session, actor, clip_id)
    project, _ = _begin(session, clip.project_id)
    clips = _scene_clips(session, clip.scene_id)
    point = _to_frames(at, at_frame, project.fps, "at")
    if point is None:
        raise Invalid("Say where to split the clip.", field="at")
    if not clip.start_frame < point < end_frame(clip):
        first, last = (frames.frames_to_seconds(f, project.fps) for f in (clip.start_frame + 1, end_frame(clip) - 1))
        raise Invalid(f"Split inside the clip: between {first:g} s and {last:g} s from the scene start.", field="at")
    right = Clip(
        **clip.model_dump(include={"scene_id", "project_id", *_CLIPBOARD_TEXT}),
        start_frame=point,
        duration_frames=end_frame(clip) - point,
    )
    clip.duration_frames = point - clip.start_frame
    clip.updated_at = utcnow()
    session.add(right)
    session.flush()
    scenes.copy_clip_links(session, clip.id, right.id)  # type: ignore[arg-type]
    refresh_overlap_flags([*clips, right])
    _finish(session, actor, clip.project_id, "clip.split", f"Split {_name(clip)}")
    return clip, right


def _join(texts: list[str]) -> str:
    return "\n".join(dict.fromkeys(text for text in texts if text.strip()))


@atomic
def merge_clips(session: Session, actor: User, clip_ids: list[int], keep_result_id: int | None = None) -> Clip:
    """Two or more neighbouring clips of one scene (nothing between them in start order) become the first one,
    spanning first start → last end; prompts and notes joined by newlines (no empties, no repeats); all results
    move to it; the selection is keep_result_id (one of theirs) or else the first clip's selected result
    (or, if it has none, the next clip's)."""
    chosen = get_clips(session, actor, clip_ids)
    if len(chosen) < 2:
        raise Invalid("Select at least two clips to merge.", field="clip_ids")
    if len({clip.scene_id for clip in chosen}) > 1:
        raise Invalid("Only clips of one scene can be merged.", field="clip_ids")
    _begin(session, chosen[0].project_id)
    scene_clips = _scene_clips(session, chosen[0].scene_id)
    _check_still_in(scene_clips, chosen)
    index = {id(clip): position for position, clip in enumerate(scene_clips)}
    positions = sorted(index[id(clip)] for clip in chosen)
    between = [scene_clips[i] for i in range(positions[0], positions[-1] + 1) if i not in positions]
    if between:
        raise Invalid(
            f"Only neighbouring clips can be merged; {_name(between[0])} lies between them.", field="clip_ids"
        )
    members = [scene_clips[i] for i in positions]
    merged, others = members[0], members[1:]
    merged.duration_frames = max(end_frame(clip) for clip in members) - merged.start_frame
    merged.image_prompt = _join([clip.image_prompt for clip in members])
    merged.video_prompt = _join([clip.video_prompt for clip in members])
    merged.notes = _join([clip.notes for clip in members])
    merged.label = next((clip.label for clip in members if clip.label), "")
    merged.updated_at = utcnow()
    ids = [clip.id for clip in members]
    items = session.exec(select(GalleryItem).where(col(GalleryItem.clip_id).in_(ids))).all()
    if keep_result_id is not None and keep_result_id not in {item.id for item in items}:
        raise Invalid("The result to keep must belong to one of the merged clips.", field="keep_result_id")
    if keep_result_id is None:
        order = {clip_id: index for index, clip_id in enumerate(ids)}
        selected = sorted((item for item in items if item.selected), key=lambda item: order[item.clip_id])
        keep_result_id = selected[0].id if selected else None
    for item in items:
        item.clip_id, item.selected = merged.id, item.id == keep_result_id  # type: ignore[assignment]
        session.add(item)
    other_ids = [clip.id for clip in others]
    session.exec(update(GenerationJob).where(col(GenerationJob.clip_id).in_(other_ids)).values(clip_id=merged.id))  # type: ignore[call-overload]
    for link_model, key in ((ClipCharacterLink, "character_id"), (ClipStyleLink, "style_id")):
        have = {getattr(link, key) for link in session.exec(select(link_model).where(link_model.clip_id == merged.id))}
        for link in session.exec(select(link_model).where(col(link_model.clip_id).in_(other_ids))).all():
            if getattr(link, key) not in have:
                have.add(getattr(link, key))
                session.add(link_model(clip_id=merged.id, **{key: getattr(link, key)}))
    session.flush()  # results and jobs point at the merged clip before the others' rows (and cascades) go
    for clip in others:
        session.delete(clip)
    session.flush()
    scenes.forget_deleted(session, other_ids)  # type: ignore[arg-type]
    refresh_overlap_flags([clip for clip in scene_clips if clip.id not in other_ids])
    _finish(session, actor, merged.project_id, "clip.merged", f"Merged {len(members)} clips into {_name(merged)}")
    return merged


def _whole(value: int, field: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise Invalid(f"The {field.replace('_', ' ')} is a whole number of frames, at least {minimum}.", field=field)
    return value


@atomic
def insert_gap(session: Session, actor: User, scene_id: int, at_frame: int, frames: int) -> list[Clip]:
    """Clips starting at/after at_frame move right by `frames`; a clip spanning at_frame stays where it is."""
    scene = scenes.get_scene(session, actor, scene_id)
    at_frame, shift = _whole(at_frame, "at_frame", 0), _whole(frames, "frames", 1)
    _, limit = _begin(session, scene.project_id)
    clips = _scene_clips(session, scene.id)
    for clip in clips:
        if clip.start_frame >= at_frame:
            clip.start_frame += shift
            clip.updated_at = utcnow()
    apply_overlap_policy(clips, [], "allow", limit)
    _finish(session, actor, scene.project_id, "clip.moved", f"Inserted a gap in “{scene.name}”")
    return clips


@atomic
def close_gap(session: Session, actor: User, scene_id: int, at_frame: int) -> list[Clip]:
    """The empty stretch containing at_frame (between clips, or before the first) closes: later clips move left."""
    scene = scenes.get_scene(session, actor, scene_id)
    at_frame = _whole(at_frame, "at_frame", 0)
    _, limit = _begin(session, scene.project_id)
    clips = _scene_clips(session, scene.id)
    if any(clip.start_frame <= at_frame < end_frame(clip) for clip in clips):
        raise Invalid("There is a clip at this point, not a gap.", field="at_frame")
    gap_start = max((end_frame(clip) for clip in clips if end_frame(clip) <= at_frame), default=0)
    gap_end = min((clip.start_frame for clip in clips if clip.start_frame > at_frame), default=None)
    if gap_end is None:
        raise Invalid("No clip follows this point, so there is no gap to close.", field="at_frame")
    for clip in clips:
        if clip.start_frame >= gap_end:
            clip.start_frame -= gap_end - gap_start
            clip.updated_at = utcnow()
    apply_overlap_policy(clips, [], "allow", limit)
    _finish(session, actor, scene.project_id, "clip.moved", f"Closed a gap in “{scene.name}”")
    return clips


def copy_clips(session: Session, actor: User, clip_ids: list[int]) -> list[dict[str, Any]]:
    """A clipboard payload of clips of one scene: starts relative to the first, durations, texts and colour,
    in frames with their rate (and seconds), so pasting into a project of another rate keeps the timing."""
    chosen = sorted(get_clips(session, actor, clip_ids), key=lambda c: (c.start_frame, c.id))
    if len({clip.scene_id for clip in chosen}) > 1:
        raise Invalid("Copy clips of one scene at a time.", field="clip_ids")
    fps = session.get(Project, chosen[0].project_id).fps  # type: ignore[union-attr]
    base = chosen[0].start_frame
    return [
        {
            "offset_frames": clip.start_frame - base,
            "duration_frames": clip.duration_frames,
            "offset": frames.frames_to_seconds(clip.start_frame - base, fps),
            "duration": frames.frames_to_seconds(clip.duration_frames, fps),
            "fps": fps,
            **clip.model_dump(include=set(_CLIPBOARD_TEXT)),
        }
        for clip in chosen
    ]


def _pasted_times(entry: dict[str, Any], fps: float) -> tuple[int, int]:
    same_rate = "fps" in entry and frames.frame_rate(entry["fps"]) == frames.frame_rate(fps)
    if same_rate and "offset_frames" in entry and "duration_frames" in entry:
        offset = _whole(entry["offset_frames"], "offset_frames", 0)
        return offset, _whole(entry["duration_frames"], "duration_frames", 1)
    offset, duration = (_to_frames(entry.get(key), None, fps, key) for key in ("offset", "duration"))
    if offset is None or duration is None:
        raise Invalid("Each pasted clip needs its offset and duration.", field="payload")
    return offset, duration


@atomic
def paste_clips(
    session: Session,
    actor: User,
    scene_id: int,
    payload: list[dict[str, Any]],
    at_frame: int,
    overlap: OverlapPolicy = "allow",
) -> list[Clip]:
    """New clips from a copy_clips payload, the first at at_frame, the rest at their offsets; then the policy."""
    scene = scenes.get_scene(session, actor, scene_id)
    policy, at_frame = _policy(overlap), _whole(at_frame, "at_frame", 0)
    if not isinstance(payload, list) or not payload or len(payload) > MAX_PASTE:
        raise Invalid(f"The clipboard holds 1 to {MAX_PASTE} clips.", field="payload")
    if not all(isinstance(entry, dict) for entry in payload):
        raise Invalid("The clipboard holds clips.", field="payload")
    project, limit = _begin(session, scene.project_id)
    clips = _scene_clips(session, scene.id)
    pasted: list[Clip] = []
    for entry in payload:
        offset, duration = _pasted_times(entry, project.fps)
        _check_span(at_frame + offset, duration, limit, project.fps)
        texts = _texts(**{key: entry.get(key, "") for key in _TEXT_LIMITS})
        color = DEFAULT_COLOR if entry.get("color") is None else _color(entry["color"])
        clip = Clip(
            scene_id=scene.id,
            project_id=scene.project_id,
            start_frame=at_frame + offset,  # type: ignore[arg-type]
            duration_frames=duration,
            color=color,
            **texts,
        )
        session.add(clip)
        pasted.append(clip)
    apply_overlap_policy([*clips, *pasted], pasted, policy, limit)
    count = f"{len(pasted)} clip{'s' if len(pasted) != 1 else ''}"
    _finish(session, actor, scene.project_id, "clip.created", f"Pasted {count} into “{scene.name}”")
    return sorted(pasted, key=lambda c: (c.start_frame, c.id))
