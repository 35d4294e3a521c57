"""One module per route. `register()` adds them all (again, in each simulated test app)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from urllib.parse import quote

from fastapi.responses import RedirectResponse
from nicegui import ui

from components.frame import frame, not_found
from components.session import current_user
from data.models import MAX_ROW_ID

# Every page that needs a signed-in user; the ownership test walks this list.
PROTECTED_ROUTES: list[str] = []


def _out_of_range(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and not 1 <= value <= MAX_ROW_ID


def protected(path: str, builder: Callable[..., object]) -> None:
    """Register a page whose builder takes the signed-in user first; others are sent to sign in."""
    signature = inspect.signature(builder)
    params = list(signature.parameters.values())[1:]

    @functools.wraps(builder)
    def page(*args: object, **kwargs: object) -> object:
        user = current_user()
        if user is None:
            target = ui.context.client.request.url
            next_path = target.path + (f"?{target.query}" if target.query else "")
            return RedirectResponse(f"/login?next={quote(next_path)}", status_code=303)
        if any(_out_of_range(value) for value in (*args, *kwargs.values())):
            # No row has such an id; asking the database would make it, not us, answer (with a 500).
            with frame("Not found", user):
                not_found("Nothing has that number: check the address.")
            return None
        return builder(user, *args, **kwargs)

    page.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]  # NiceGUI and FastAPI read the wrapper's __signature__ for its parameters
    if path not in PROTECTED_ROUTES:
        PROTECTED_ROUTES.append(path)
    ui.page(path)(page)


def register() -> None:
    from . import (
        account,
        batch,
        history,
        invite,
        login,
        project_dashboard,
        project_settings,
        project_timeline,
        projects,
        queue,
        result,
        scene_timeline,
        servers,
        users,
        workflows,
    )

    login.register()
    invite.register()
    protected("/", projects.index)
    protected("/projects", projects.page)
    protected("/projects/{project_id}", project_dashboard.page)
    protected("/projects/{project_id}/timeline", project_timeline.page)
    protected("/projects/{project_id}/settings", project_settings.page)
    protected("/scenes/{scene_id}", scene_timeline.page)
    protected("/account", account.page)
    protected("/users", users.page)
    protected("/servers", servers.page)
    protected("/queue", queue.page)
    protected("/workflows", workflows.page)
    protected("/history", history.page)
    protected("/results/{item_id}", result.page)
    protected("/batches/{batch_id}", batch.page)
