"""The view-model the timeline editor draws: plain dicts, one per clip, from one query."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from data.models import Clip, Scene, User

from . import scenes


def clip_cards(session: Session, actor: User, scene_id: int) -> list[dict[str, Any]]:
    """What a clip card shows: timing in frames, label, colour and warnings (thumbnails come with the galleries)."""
    scenes.get_scene(session, actor, scene_id)
    clips = session.exec(
        select(Clip).where(Clip.scene_id == scene_id).order_by(col(Clip.start_frame), col(Clip.id))
    ).all()
    cards = []
    for clip in clips:
        cards.append(
            {
                "id": clip.id,
                "start_frame": clip.start_frame,
                "duration_frames": clip.duration_frames,
                "label": clip.label or f"Clip {clip.id}",
                "color": clip.color,
                # The authenticated media route for thumbnails arrives with the galleries; until then none.
                "thumbnail": None,
                "status": None,
                "overlap": clip.overlap_allowed,
                "has_prompts": bool(clip.image_prompt.strip() and clip.video_prompt.strip()),
            }
        )
    return cards


def neighbours(session: Session, actor: User, scene_id: int) -> tuple[Scene | None, Scene | None]:
    """The scenes before and after this one, for previous / next navigation."""
    scene = scenes.get_scene(session, actor, scene_id)
    ordered = scenes.list_scenes(session, actor, scene.project_id)
    index = next(i for i, s in enumerate(ordered) if s.id == scene_id)
    return (ordered[index - 1] if index > 0 else None, ordered[index + 1] if index + 1 < len(ordered) else None)
