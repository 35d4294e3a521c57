"""/results/{id}?sig=…: a shared link opens the viewer for people who may see the project, and nothing else."""

from __future__ import annotations

from nicegui.testing import User

from app.services import clips, scenes, share_links
from data.models import GalleryItem


async def test_a_shared_link_opens_the_result_for_its_owner_only(
    user: User, sign_in, make_user, make_project, db
) -> None:
    owner = await sign_in(user, "director")
    project = make_project(owner, "Film")
    scene = scenes.create_scene(db, owner, project.id, "Harbour")
    clip = clips.create_clip(db, owner, scene.id, label="Pier")
    item = GalleryItem(clip_id=clip.id, project_id=project.id, kind="image", file_path="x.png", selected=True)
    db.add(item)
    db.commit()

    await user.open(share_links.share_path(item.id))
    await user.should_see("← “Pier”")

    forged = await user.http_client.get(f"/results/{item.id}?sig=forged")
    assert forged.status_code == 404 and "This result cannot be shown" in forged.text
