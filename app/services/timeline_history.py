"""Undo and redo for any timeline edit, by snapshots of the clip rows of the scenes an edit touches.

A snapshot is plain data (every column of every clip of some scenes), so it is cheap to keep a
hundred of them per editor. Restoring makes those scenes' clips exactly as captured: existing rows
are updated, deleted ones come back with their old ids, and ones created since are deleted.

What a snapshot does not hold: generated results (gallery items). A clip deleted together with
its results comes back without them, and results of a clip created after the snapshot are removed
with it on undo (files included). That is why the editor confirms deleting clips that have results.
Results moved by a merge stay with the merged clip after an undo; no result is lost that way.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlmodel import Session, col, select

from data.errors import Conflict, DomainError
from data.models import Clip, GalleryItem, User

from . import events, scenes

CLIP_FIELDS: tuple[str, ...] = tuple(Clip.model_fields)
T = TypeVar("T")
HISTORY_LIMIT = 100


@dataclass(frozen=True)
class TimelineSnapshot:
    """Every clip row of some scenes, as plain dicts (treat as read-only)."""

    scene_ids: tuple[int, ...]
    clips: tuple[dict[str, Any], ...]


def capture(session: Session, scene_ids: list[int]) -> TimelineSnapshot:
    """Read (not from stale session state) every clip of the scenes."""
    ids = tuple(dict.fromkeys(scene_ids))
    query = (
        select(Clip)
        .where(col(Clip.scene_id).in_(ids))
        .order_by(col(Clip.scene_id), col(Clip.start_frame), col(Clip.id))
        .execution_options(populate_existing=True)
    )
    rows = tuple({field: getattr(clip, field) for field in CLIP_FIELDS} for clip in session.exec(query))
    return TimelineSnapshot(scene_ids=ids, clips=rows)


@scenes.atomic
def restore(session: Session, actor: User, snapshot: TimelineSnapshot, label: str = "") -> None:
    """Make the snapshot's scenes hold exactly its clips. NotFound if a scene is gone or not the actor's;
    Conflict if a clip id of the snapshot now belongs to a scene outside it (changed elsewhere)."""
    scene_list = [scenes.get_scene(session, actor, scene_id) for scene_id in snapshot.scene_ids]
    project_ids = sorted({scene.project_id for scene in scene_list})
    for project_id in project_ids:
        scenes.lock_project(session, project_id)
    wanted = {row["id"]: row for row in snapshot.clips}
    query = select(Clip).where(col(Clip.scene_id).in_(snapshot.scene_ids)).execution_options(populate_existing=True)
    current = {clip.id: clip for clip in session.exec(query)}
    missing = [clip_id for clip_id in wanted if clip_id not in current]
    elsewhere = session.exec(select(Clip.id).where(col(Clip.id).in_(missing))).all() if missing else []
    if elsewhere:
        raise Conflict("These clips were changed in another scene since; undo is not possible.", field="clip_ids")
    gone = [clip_id for clip_id in current if clip_id not in wanted]
    paths = scenes.result_paths(session.exec(select(GalleryItem).where(col(GalleryItem.clip_id).in_(gone))).all())
    for clip_id in gone:
        session.delete(current[clip_id])
    session.flush()  # before re-inserting, so no row is in the way
    scenes.forget_deleted(session, gone)  # type: ignore[arg-type]  # ids of stored clips are never None
    for clip_id, row in wanted.items():
        clip = current.get(clip_id)
        if clip is None:
            stale = session.identity_map.get(session.identity_key(Clip, clip_id))
            if stale is not None:  # deleted by another session since this one read it
                session.expunge(stale)
            session.add(Clip(**row))
        else:
            for field in CLIP_FIELDS:
                if getattr(clip, field) != row[field]:
                    setattr(clip, field, row[field])
    names = ", ".join(f"“{scene.name}”" for scene in scene_list)
    for project_id in project_ids:
        message = f"{label} in {names}" if label else f"Restored the timeline of {names}"
        scenes.log_edit(session, project_id, actor, "timeline.restored", message)
    session.commit()
    scenes.remove_result_files(session, paths)
    for project_id in project_ids:
        events.emit(events.project_changed, project_id)


@dataclass(frozen=True)
class _Entry:
    before: TimelineSnapshot
    after: TimelineSnapshot
    label: str


class History:
    """One editor's undo/redo stacks (bounded). A new edit clears what could be redone."""

    def __init__(self, limit: int = HISTORY_LIMIT) -> None:
        self._undo: deque[_Entry] = deque(maxlen=limit)
        self._redo: deque[_Entry] = deque(maxlen=limit)

    def record(self, before: TimelineSnapshot, after: TimelineSnapshot, label: str) -> None:
        """Remember an edit; an edit that changed nothing is not recorded."""
        if before.clips == after.clips and set(before.scene_ids) == set(after.scene_ids):
            return
        self._undo.append(_Entry(before, after, label))
        self._redo.clear()

    @contextmanager
    def track(self, session: Session, scene_ids: list[int], label: str) -> Iterator[None]:
        """`with history.track(session, [scene_id], "Move clip"): clips.move_clips(...)` — records it if it succeeds."""
        before = capture(session, scene_ids)
        yield
        self.record(before, capture(session, scene_ids), label)

    def tracked(
        self, session: Session, scene_ids: list[int], label: str, work: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> T:
        """`work(session, *args, **kwargs)` as one undo step, recorded only if it succeeds; the work keeps its
        own checks of what the actor may change (a refused edit records nothing). Positional-only: a clip's
        changes passed on as keywords may well include a `label`."""
        with self.track(session, scene_ids, label):
            return work(session, *args, **kwargs)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str | None:
        return self._undo[-1].label if self._undo else None

    @property
    def redo_label(self) -> str | None:
        return self._redo[-1].label if self._redo else None

    def undo(self, session: Session, actor: User) -> str | None:
        """Put the last edit's scenes back as they were before it; returns its label (None if nothing to undo).
        An edit that can no longer be undone (its scene deleted, its clips changed elsewhere) is dropped."""
        if not self._undo:
            return None
        entry = self._undo.pop()
        try:
            restore(session, actor, entry.before, label=f"Undid {entry.label.lower()}")
        except DomainError:
            raise
        except BaseException:
            self._undo.append(entry)  # a passing failure (database): it may work next time
            raise
        self._redo.append(entry)
        return entry.label

    def redo(self, session: Session, actor: User) -> str | None:
        """Apply the last undone edit again; returns its label (None if nothing to redo)."""
        if not self._redo:
            return None
        entry = self._redo.pop()
        try:
            restore(session, actor, entry.after, label=f"Redid {entry.label.lower()}")
        except DomainError:
            raise
        except BaseException:
            self._redo.append(entry)
            raise
        self._undo.append(entry)
        return entry.label

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
