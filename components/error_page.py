"""What a browser sees when something fails on our side: a reference to quote, never the exception.

NiceGUI's own error page shows the exception's class and message, which can carry paths, SQL
or a peer's text. The page shows a short reference instead; the server log keeps the whole
exception under the same reference, so an administrator can find it.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from nicegui import Client, ui
from nicegui.page import page as nicegui_page

from app.http_security import security_headers

log = logging.getLogger("storycanvas.errors")
_REFERENCE_KEY = "storycanvas_error_reference"


def new_reference() -> str:
    return uuid.uuid4().hex[:10]


def log_failure(reference: str, exception: BaseException, where: str) -> None:
    log.error("request %s failed at %s", reference, where, exc_info=exception)


def _content(status_code: int, reference: str | None) -> None:
    with ui.column().classes("w-full items-center py-16 gap-2"):
        ui.icon("error_outline" if status_code >= 500 else "search_off", size="48px").classes("sc-muted")
        if status_code >= 500:
            ui.label("Something went wrong on our side").classes("text-h6")
            ui.label("Try again in a moment. If it keeps happening, give your administrator this reference:").classes(
                "sc-muted"
            )
            ui.label(reference or "").classes("text-mono").props('data-testid="error-reference"')
        else:
            ui.label("Not found").classes("text-h6")
            ui.label("Nothing is at this address: check it, or go back to your projects.").classes("sc-muted")
        ui.link("Back to your projects", "/projects")


def show_page_failure(exception: Exception) -> None:
    """NiceGUI's page-exception hook: a page builder raised."""
    reference = new_reference()
    request = ui.context.client.request
    if request is not None:  # NiceGUI also hands the exception to failure_answer: log it once
        request.scope[_REFERENCE_KEY] = reference
    log_failure(reference, exception, f"page {request.url.path}" if request is not None else "a page")
    ui.page_title("Something went wrong · StoryCanvas")
    _content(500, reference)


async def not_found_answer(request: Request, _exception: Exception) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": "Not found: check the address."}, status_code=404)
    with Client(nicegui_page(""), request=request) as client:
        ui.page_title("Not found · StoryCanvas")
        _content(404, None)
    return client.build_response(request, 404)


async def failure_answer(request: Request, exception: Exception) -> Response:
    """Any exception no other handler took: logged with a reference, answered without its text."""
    reference = request.scope.get(_REFERENCE_KEY)
    if reference is None:
        reference = new_reference()
        log_failure(reference, exception, f"{request.method} {request.url.path}")
    if not request.scope.get("nicegui_page_path"):
        answer: Response = JSONResponse(
            {"detail": f"Something went wrong on our side; reference {reference} (the server log has the details)."},
            status_code=500,
            headers={"X-Error-Reference": reference},
        )
    else:
        with Client(nicegui_page(""), request=request) as client:
            _content(500, reference)
        answer = client.build_response(request, 500)
    # This handler answers from outside the security middleware (Starlette's outermost error layer).
    for name, value in security_headers(request.scope):
        answer.headers.setdefault(name, value)
    return answer


def install(app) -> None:
    """Replace NiceGUI's error pages, which show the exception, with ours."""
    app.on_page_exception(show_page_failure)
    app.add_exception_handler(404, not_found_answer)
    app.add_exception_handler(Exception, failure_answer)
