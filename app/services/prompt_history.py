"""Every saved version of a clip's image and video prompt: who saved it and when, listed and restored.

A version is written in the same transaction as the clip change that made it (clips.update_clip and
create_clip call `record`), so history and clip never disagree. Nothing is written when neither prompt
changed, and each clip keeps its newest MAX_VERSIONS versions: a director typing all day with autosave
cannot grow the table without end. Versions go with their clip (and so with its scene and project) by the
database's cascade.

A clip that had prompts before history existed gets its earlier wording as the first version the first
time its prompts change, so "restore" can always reach back to what was there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from data.errors import NotFound
from data.models import Clip, ClipPromptVersion, User

from . import projects

MAX_VERSIONS = 200


@dataclass(frozen=True)
class PromptVersion:
    """One entry of a clip's prompt history as the API and the inspector show it."""

    n: int
    image_prompt: str
    video_prompt: str
    saved_at: datetime
    saved_by: str

    def as_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "image_prompt": self.image_prompt,
            "video_prompt": self.video_prompt,
            "saved_at": self.saved_at,
            "saved_by": self.saved_by,
        }


def _latest(session: Session, clip_id: int) -> ClipPromptVersion | None:
    query = (
        select(ClipPromptVersion).where(ClipPromptVersion.clip_id == clip_id).order_by(col(ClipPromptVersion.n).desc())
    )
    return session.exec(query.limit(1)).first()


def record(
    session: Session,
    actor: User | None,
    clip: Clip,
    before: tuple[str, str] | None = None,
    before_at: datetime | None = None,
) -> ClipPromptVersion | None:
    """Add the clip's current prompts as a version unless they equal the newest one; the caller commits.

    `before` is the wording the change replaced: kept as a first, anonymous version when the clip has no
    history yet (a clip from before history, or made by a split or a paste)."""
    assert clip.id is not None, "record after the clip is flushed"
    last = _latest(session, clip.id)
    if last is None and before is not None and any(before) and before != (clip.image_prompt, clip.video_prompt):
        last = ClipPromptVersion(
            clip_id=clip.id, n=1, image_prompt=before[0], video_prompt=before[1], saved_at=before_at or clip.updated_at
        )
        session.add(last)
    if last is not None and (last.image_prompt, last.video_prompt) == (clip.image_prompt, clip.video_prompt):
        return None
    version = ClipPromptVersion(
        clip_id=clip.id,
        n=(last.n if last else 0) + 1,
        image_prompt=clip.image_prompt,
        video_prompt=clip.video_prompt,
        saved_by_id=actor.id if actor else None,
        saved_by=actor.username if actor else "",
    )
    session.add(version)
    session.flush()
    session.exec(
        delete(ClipPromptVersion).where(
            col(ClipPromptVersion.clip_id) == clip.id, col(ClipPromptVersion.n) <= version.n - MAX_VERSIONS
        )
    )
    return version


def list_history(session: Session, actor: User, clip_id: int) -> list[PromptVersion]:
    """Newest first; another user's clip is NotFound, like every clip read."""
    projects.get_within(session, actor, Clip, clip_id, "Clip")
    query = (
        select(ClipPromptVersion).where(ClipPromptVersion.clip_id == clip_id).order_by(col(ClipPromptVersion.n).desc())
    )
    return [
        PromptVersion(v.n, v.image_prompt, v.video_prompt, v.saved_at, v.saved_by) for v in session.exec(query).all()
    ]


def count_versions(session: Session, clip_id: int) -> int:
    return int(session.exec(select(func.count()).where(ClipPromptVersion.clip_id == clip_id)).one())


def version(session: Session, clip_id: int, n: int) -> ClipPromptVersion:
    """Version n of the clip's prompts (clips.restore_prompts makes it current again)."""
    found = session.exec(
        select(ClipPromptVersion).where(ClipPromptVersion.clip_id == clip_id, ClipPromptVersion.n == n)
    ).first()
    if found is None:
        raise NotFound(f"This clip has no prompt version {n} (the oldest ones are not kept past {MAX_VERSIONS}).")
    return found
