"""Walks every signed-in page with another user's session: a page without the ownership check fails here."""

from __future__ import annotations

import re

from nicegui.testing import User

import pages


async def test_every_page_hides_another_users_project(user: User, sign_in, make_user, make_project, db) -> None:
    from app.services import clips, scenes
    from data.models import Batch, GalleryItem

    owner = make_user("owner")
    project = make_project(owner, "Owner's secret film")
    scene = scenes.create_scene(db, owner, project.id, "Owner's secret scene")
    clip = clips.create_clip(db, owner, scene.id, label="secret clip")
    item = GalleryItem(clip_id=clip.id, project_id=project.id, kind="image", file_path="x.png", selected=True)
    db.add(item)
    batch = Batch(project_id=project.id, owner_id=owner.id, name="Owner's secret batch")
    db.add(batch)
    db.commit()
    await sign_in(user, "intruder")
    ids = {"project_id": project.id, "scene_id": scene.id, "clip_id": clip.id, "item_id": item.id, "batch_id": batch.id}
    walked = 0
    for route in pages.PROTECTED_ROUTES:
        params = re.findall(r"{(\w+)}", route)
        if not params:
            continue
        missing = [p for p in params if p not in ids]
        assert not missing, f"{route}: teach this test to make a {missing}"
        url = route.format(**ids)
        response = await user.http_client.get(url)
        assert response.status_code in (403, 404), f"{url} answered {response.status_code} to another user"
        assert "Owner's secret" not in response.text and "secret clip" not in response.text
        walked += 1
    assert walked >= 1


async def test_every_page_sends_visitors_to_sign_in(user: User) -> None:
    for route in pages.PROTECTED_ROUTES:
        url = re.sub(r"{\w+}", "1", route)
        response = await user.http_client.get(url)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), url
