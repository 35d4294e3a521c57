"""An upload the server refuses (413 over the cap, 403 signed out) is said in words, not just a red field."""

from __future__ import annotations

from nicegui import events, ui
from nicegui.testing import User

from .conftest import click_testid


def _refuse_upload(user: User) -> None:
    """What Quasar's uploader emits when the server answers an error status."""
    (upload,) = user.find(kind=ui.upload).elements
    with user.client:
        for listener in upload._event_listeners.values():  # the one way to emit a client event here
            if listener.type == "failed":
                arguments = events.GenericEventArguments(sender=upload, client=user.client, args={})
                events.handle_event(listener.handler, arguments)


async def test_a_refused_project_import_says_why(user: User, sign_in) -> None:
    await sign_in(user)
    user.find(kind=ui.button, content="Import").click()
    await user.should_see("Import a project")
    _refuse_upload(user)
    await user.should_see("The server refused it")


async def test_a_refused_workflow_upload_says_why(user: User, sign_in) -> None:
    await sign_in(user)
    await user.open("/workflows")
    click_testid(user, "import-workflow")
    await user.should_see("Import a ComfyUI workflow")
    _refuse_upload(user)
    await user.should_see("The server refused that file")
