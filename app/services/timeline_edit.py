"""Structural timeline edits: split, merge, gaps, copy and paste — each exact in frames and all-or-nothing.

The clip rules they share (locking, overlap policy, limits) live in clips.py; these only rearrange.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from data import frames
from data.errors import Invalid
from data.models import Clip, ClipCharacterLink, ClipStyleLink, GalleryItem, GenerationJob, Project, User
from data.models._common import utcnow
from data.words import counted

from . import scenes
from .clips import (
    DEFAULT_COLOR,
    MAX_PASTE,
    TEXT_LIMITS,
    OverlapPolicy,
    apply_overlap_policy,
    begin_edit,
    check_span,
    check_still_in,
    clean_color,
    clean_texts,
    clip_name,
    clips_of_scene,
    end_frame,
    finish_edit,
    get_clip,
    get_clips,
    parse_policy,
    refresh_overlap_flags,
    to_frames,
)
from .scenes import atomic

# What a copy or a split carries over besides timing.
_CLIPBOARD_TEXT = ("image_prompt", "video_prompt", "label", "notes", "color")


@atomic
def split_clip(
    session: Session, actor: User, clip_id: int, *, at: float | None = None, at_frame: int | None = None
) -> tuple[Clip, Clip]:
    """Split at a point strictly inside the clip, `at` in seconds from the SCENE start (like the playhead).
    The halves add up to the original exactly in frames; both keep the texts; results stay with the left."""
    clip = get_clip(session, actor, clip_id)
    project, _ = begin_edit(session, clip.project_id)
    clips = clips_of_scene(session, clip.scene_id)
    point = to_frames(at, at_frame, project.fps, "at")
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
    scenes.copy_clip_links(session, clip.id, right.id)  # type: ignore[arg-type]  # a stored row's id is never None
    refresh_overlap_flags([*clips, right])
    finish_edit(session, actor, clip.project_id, "clip.split", f"Split {clip_name(clip)}")
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
    begin_edit(session, chosen[0].project_id)
    scene_clips = clips_of_scene(session, chosen[0].scene_id)
    check_still_in(scene_clips, chosen)
    index = {id(clip): position for position, clip in enumerate(scene_clips)}
    positions = sorted(index[id(clip)] for clip in chosen)
    between = [scene_clips[i] for i in range(positions[0], positions[-1] + 1) if i not in positions]
    if between:
        raise Invalid(
            f"Only neighbouring clips can be merged; {clip_name(between[0])} lies between them.", field="clip_ids"
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
        item.clip_id, item.selected = merged.id, item.id == keep_result_id  # type: ignore[assignment]  # a stored row's id is never None
        session.add(item)
    other_ids = [clip.id for clip in others]
    session.exec(update(GenerationJob).where(col(GenerationJob.clip_id).in_(other_ids)).values(clip_id=merged.id))
    for link_model, key in ((ClipCharacterLink, "character_id"), (ClipStyleLink, "style_id")):
        have = {getattr(link, key) for link in session.exec(select(link_model).where(link_model.clip_id == merged.id))}
        for link in session.exec(select(link_model).where(col(link_model.clip_id).in_(other_ids))).all():
            if getattr(link, key) not in have:
                have.add(getattr(link, key))
                session.add(link_model(clip_id=merged.id, **{key: getattr(link, key)}))  # type: ignore[arg-type]  # a stored row's id is never None
    session.flush()  # results and jobs point at the merged clip before the others' rows (and cascades) go
    for clip in others:
        session.delete(clip)
    session.flush()
    scenes.forget_deleted(session, other_ids)  # type: ignore[arg-type]  # ids of stored clips are never None
    refresh_overlap_flags([clip for clip in scene_clips if clip.id not in other_ids])
    finish_edit(
        session, actor, merged.project_id, "clip.merged", f"Merged {len(members)} clips into {clip_name(merged)}"
    )
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
    _, limit = begin_edit(session, scene.project_id)
    clips = clips_of_scene(session, scene.id)  # type: ignore[arg-type]  # a stored row's id is never None
    for clip in clips:
        if clip.start_frame >= at_frame:
            clip.start_frame += shift
            clip.updated_at = utcnow()
    apply_overlap_policy(clips, [], "allow", limit)
    finish_edit(session, actor, scene.project_id, "clip.moved", f"Inserted a gap in “{scene.name}”")
    return clips


@atomic
def close_gap(session: Session, actor: User, scene_id: int, at_frame: int) -> list[Clip]:
    """The empty stretch containing at_frame (between clips, or before the first) closes: later clips move left."""
    scene = scenes.get_scene(session, actor, scene_id)
    at_frame = _whole(at_frame, "at_frame", 0)
    _, limit = begin_edit(session, scene.project_id)
    clips = clips_of_scene(session, scene.id)  # type: ignore[arg-type]  # a stored row's id is never None
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
    finish_edit(session, actor, scene.project_id, "clip.moved", f"Closed a gap in “{scene.name}”")
    return clips


def copy_clips(session: Session, actor: User, clip_ids: list[int]) -> list[dict[str, Any]]:
    """A clipboard payload of clips of one scene: starts relative to the first, durations, texts and colour,
    in frames with their rate (and seconds), so pasting into a project of another rate keeps the timing."""
    chosen = sorted(get_clips(session, actor, clip_ids), key=lambda c: (c.start_frame, c.id))
    if len({clip.scene_id for clip in chosen}) > 1:
        raise Invalid("Copy clips of one scene at a time.", field="clip_ids")
    fps = session.get(Project, chosen[0].project_id).fps  # type: ignore[union-attr]  # the clips' project exists: clips go with their project
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
    start, length = (to_frames(entry.get(key), None, fps, key) for key in ("offset", "duration"))
    if start is None or length is None:
        raise Invalid("Each pasted clip needs its offset and duration.", field="payload")
    return start, length


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
    policy, at_frame = parse_policy(overlap), _whole(at_frame, "at_frame", 0)
    if not isinstance(payload, list) or not payload or len(payload) > MAX_PASTE:
        raise Invalid(f"The clipboard holds 1 to {MAX_PASTE} clips.", field="payload")
    if not all(isinstance(entry, dict) for entry in payload):
        raise Invalid("The clipboard holds clips.", field="payload")
    project, limit = begin_edit(session, scene.project_id)
    clips = clips_of_scene(session, scene.id)  # type: ignore[arg-type]  # a stored row's id is never None
    pasted: list[Clip] = []
    for entry in payload:
        offset, duration = _pasted_times(entry, project.fps)
        check_span(at_frame + offset, duration, limit, project.fps)
        texts = clean_texts(**{key: entry.get(key, "") for key in TEXT_LIMITS})
        color = DEFAULT_COLOR if entry.get("color") is None else clean_color(entry["color"])
        clip = Clip(
            scene_id=scene.id,  # type: ignore[arg-type]  # a stored row's id is never None
            project_id=scene.project_id,
            start_frame=at_frame + offset,
            duration_frames=duration,
            color=color,
            **texts,
        )
        session.add(clip)
        pasted.append(clip)
    apply_overlap_policy([*clips, *pasted], pasted, policy, limit)
    count = f"{counted(len(pasted), 'clip')}"
    finish_edit(session, actor, scene.project_id, "clip.created", f"Pasted {count} into “{scene.name}”")
    return sorted(pasted, key=lambda c: (c.start_frame, c.id))
