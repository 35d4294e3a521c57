"""A big import is written in chunks (other writers get their turn), and a failure part-way leaves nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlmodel import Session, func, select

from app.services import exports, project_import
from data.errors import Invalid
from data.models import Clip, Project


def _document(clips: int, bad_at: int | None = None) -> dict:
    def clip(index: int) -> dict:
        body = {"start_frame": index * 24, "duration_frames": 24, "label": f"c{index}"}
        if index == bad_at:
            body["characters"] = ["nobody"]
        return body

    return {
        "schema": "storycanvas.project",
        "version": 1,
        "project": {"name": "Big", "fps": 24},
        "scenes": [{"name": "One", "clips": [clip(index) for index in range(clips)]}],
    }


def test_a_big_import_commits_chunk_by_chunk(db: Session, make_user, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(project_import, "IMPORT_CHUNK_CLIPS", 50)
    monkeypatch.setattr(project_import, "PAUSE_BETWEEN_CHUNKS_S", 0)
    owner = make_user("alice")
    commits: list[int] = []
    event.listen(db, "after_commit", lambda session: commits.append(1))
    project, _ = exports.import_project(db, owner, _document(420))
    assert len(commits) >= 420 // 50
    assert db.exec(select(func.count()).select_from(Clip).where(Clip.project_id == project.id)).one() == 420
    assert project.name == "Big" and not project.archived


def test_a_failure_part_way_removes_what_earlier_chunks_wrote(
    db: Session, make_user, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(project_import, "IMPORT_CHUNK_CLIPS", 50)
    monkeypatch.setattr(project_import, "PAUSE_BETWEEN_CHUNKS_S", 0)
    owner = make_user("alice")
    with pytest.raises(Invalid):
        exports.import_project(db, owner, _document(300, bad_at=260))
    assert db.exec(select(func.count()).select_from(Project)).one() == 0
    assert db.exec(select(func.count()).select_from(Clip)).one() == 0
