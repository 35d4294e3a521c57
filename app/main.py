"""Builds the one StoryCanvas process: pages, the REST API, the scheduler, and runs it.

NiceGUI's simulated test user runs this file as __main__ for every test, so everything
is registered inside `build()`, never as an import side effect.
"""

from __future__ import annotations

import logging

from nicegui import app, ui

from app import api
from app.config import get_settings
from app.dispatch import scheduler
from app.services import users, workflows
from data import migrate
from data.engine import dispose_engine, session_scope

log = logging.getLogger("storycanvas")


_served_port: int | None = None


def on_startup() -> None:
    migrate.upgrade()
    with session_scope() as session:
        workflows.ensure_builtin_workflows(session)
    scheduler.start()
    with session_scope() as session:
        if users.count_users(session) == 0:
            port = _served_port or get_settings().port
            print(
                f"StoryCanvas: no accounts yet. Open http://localhost:{port}/login and create "
                "the first account: it becomes the administrator.",
                flush=True,
            )


async def on_shutdown() -> None:
    await scheduler.stop()
    dispose_engine()


def build() -> None:
    import pages

    app.docs_url = "/api/docs"
    app.redoc_url = "/api/redoc"
    app.openapi_url = "/api/openapi.json"
    api.mount(app)
    # Calm, editor-like labels rather than Material's capitals.
    ui.button.default_props("no-caps")
    ui.tab.default_props("no-caps")
    pages.register()
    app.on_startup(on_startup)
    app.on_shutdown(on_shutdown)


def run(host: str | None = None, port: int | None = None) -> None:
    global _served_port
    settings = get_settings()
    settings.ensure_data_dir()
    _served_port = port or settings.port
    build()
    ui.run(
        host=host or settings.host,
        port=_served_port,
        title="StoryCanvas",
        favicon="🎬",
        dark=True,
        reload=False,
        show=False,
        storage_secret=settings.resolved_secret_key,
        fastapi_docs={"title": "StoryCanvas API", "version": "1", "description": "REST API under /api/v1."},
        show_welcome_message=False,
    )


if __name__ in {"__main__", "__mp_main__"}:
    run()
