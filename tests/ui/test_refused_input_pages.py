"""After hostile input is refused (a traversing import, a NUL name, a graph nested too deep), the pages
it would have reached still open for its author and for an administrator, with nothing of it shown."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from app.services import exports, projects, workflows
from data.engine import session_scope
from data.errors import DomainError


def _refused(action) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError), session_scope() as session:
        action(session)


async def test_pages_open_after_hostile_input_was_refused(user: User, sign_in, make_user, make_project) -> None:
    mallory = make_user("mallory")
    make_project(mallory, "Mallory's film")
    traversal = {
        "schema": "storycanvas.project",
        "version": 1,
        "project": {"name": "Stolen"},
        "scenes": [
            {
                "name": "One",
                "clips": [
                    {
                        "start_frame": 0,
                        "duration_frames": 24,
                        "results": [{"kind": "image", "path": "projects/1/../../jobs/1/preview.jpg"}],
                    }
                ],
            }
        ],
    }
    _refused(lambda session: exports.import_project(session, mallory, traversal))
    _refused(lambda session: projects.create_project(session, mallory, projects.parse_create(name="x\x00y")))
    deep: dict = {}
    cursor = deep
    for _ in range(400):
        cursor["x"] = {}
        cursor = cursor["x"]
    graph = {"1": {"class_type": "SaveImage", "inputs": {"images": deep}}}
    _refused(
        lambda session: workflows.create_workflow(session, mallory, "Deep", "image", graph, {})
    )
    await sign_in(user, "root", admin=True)
    for address in ("/projects", "/workflows"):
        response = await user.http_client.get(address)
        assert response.status_code == 200, address
        assert "Stolen" not in response.text
    await user.open("/projects")
    await user.should_not_see("Stolen")
