"""The REST API under /api/v1, mounted on NiceGUI's FastAPI app."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from data.errors import DomainError, Unauthorized

from . import (
    admin,
    auth,
    batches,
    exports,
    gallery,
    generation,
    history,
    input_images,
    jobs,
    notifications,
    projects,
    scenes,
    servers,
    workflows,
)

API_PREFIX = "/api/v1"


def build_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    router.include_router(auth.router)
    router.include_router(admin.router)
    router.include_router(projects.router)
    router.include_router(scenes.router)
    router.include_router(servers.router)
    router.include_router(workflows.router)
    router.include_router(jobs.router)
    router.include_router(generation.router)
    router.include_router(history.router)
    router.include_router(gallery.router)
    router.include_router(input_images.router)
    router.include_router(batches.router)
    router.include_router(notifications.router)
    router.include_router(exports.router)
    return router


async def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    body: dict[str, object] = {"detail": error.message}
    if error.field:
        body["field"] = error.field
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, Unauthorized) else None
    return JSONResponse(body, status_code=error.status_code, headers=headers)


def mount(app: FastAPI) -> None:
    app.include_router(build_router())
    app.include_router(auth.browser_router)  # /auth/session and /auth/sign-out set the browser's cookie
    app.add_exception_handler(DomainError, _domain_error)

    # On the loop, not in a worker thread: it answers even while every thread is busy.
    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}
