"""Shared result links: signed by this installation, and still only for people who may see the project."""

from __future__ import annotations

import pytest

from app.services import clips, scenes, share_links
from data.errors import NotFound
from data.models import GalleryItem


@pytest.fixture
def item(db, make_user, make_project):
    owner = make_user("director")
    project = make_project(owner, name="Film")
    scene = scenes.create_scene(db, owner, project.id, "Opening")
    clip = clips.create_clip(db, owner, scene.id, start=0.0, duration=2.0)
    result = GalleryItem(clip_id=clip.id, project_id=project.id, kind="image", file_path="results/a.png")
    db.add(result)
    db.commit()
    return owner, result


def test_a_signed_link_opens_the_result_for_its_project_owner(db, item) -> None:
    owner, result = item
    path = share_links.share_path(result.id)
    assert path.startswith(f"/results/{result.id}?sig=")
    signature = path.split("sig=", 1)[1]
    assert share_links.open_shared(db, owner, result.id, signature).id == result.id


def test_a_signature_belongs_to_one_result(db, item) -> None:
    owner, result = item
    other_signature = share_links.sign(result.id + 1)
    assert share_links.sign(result.id) != other_signature
    with pytest.raises(NotFound, match="not valid"):
        share_links.open_shared(db, owner, result.id, other_signature)
    for bad in (None, "", "x" * 22, share_links.sign(result.id)[:-1]):
        with pytest.raises(NotFound):
            share_links.open_shared(db, owner, result.id, bad)


def test_the_signature_alone_is_not_enough(db, item, make_user) -> None:
    _owner, result = item
    stranger = make_user("stranger")
    with pytest.raises(NotFound):
        share_links.open_shared(db, stranger, result.id, share_links.sign(result.id))


def test_signatures_depend_on_the_installation_secret(item, monkeypatch) -> None:
    _owner, result = item
    from app.config import get_settings

    before = share_links.sign(result.id)
    settings = get_settings()
    monkeypatch.setattr(type(settings), "resolved_secret_key", property(lambda self: "another-installation"))
    assert share_links.sign(result.id) != before
