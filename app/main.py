"""Builds the one StoryCanvas process: pages, the REST API, the scheduler, and runs it.

NiceGUI's simulated test user runs this file as __main__ for every test, so everything
is registered inside `build()`, never as an import side effect.
"""

from __future__ import annotations

import logging

from nicegui import app, ui
from starlette.requests import Request

from app import api, http_security
from app.config import IO_THREADS, get_settings
from app.dispatch import scheduler
from app.services import events, media_store, users, workflows
from data import migrate
from data.engine import dispose_engine, session_scope

log = logging.getLogger("storycanvas")
API_DOCS = {"title": "StoryCanvas API", "version": "1", "description": "REST API under /api/v1."}


_served_port: int | None = None


async def size_thread_pools() -> None:
    """Every thread that may open a database session gets a pooled connection (data/engine.py says why)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import anyio.to_thread
    from nicegui import run as nicegui_run

    anyio.to_thread.current_default_thread_limiter().total_tokens = get_settings().worker_threads
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(IO_THREADS, thread_name_prefix="asyncio"))
    nicegui_run.thread_pool = ThreadPoolExecutor(IO_THREADS, thread_name_prefix="nicegui-io")


def on_startup() -> None:
    migrate.upgrade()
    events.share_between_processes(get_settings().resolved_database_url)
    media_store.empty_trash_later()  # what a crash left of deleted projects
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
    events.stop_sharing()
    dispose_engine()


def browser_signed_in(request: Request) -> bool:
    """Whether the browser behind a plain HTTP request has a live session (the upload guard asks)."""
    from components.session import user_for_request

    return user_for_request(request) is not None


def build() -> None:
    import pages
    from components import error_page

    app.docs_url = "/api/docs"
    app.redoc_url = "/api/redoc"
    app.openapi_url = "/api/openapi.json"
    api.mount(app)
    http_security.install(app, get_settings(), signed_in=browser_signed_in)
    # Calm, editor-like labels rather than Material's capitals.
    ui.button.default_props("no-caps")
    ui.tab.default_props("no-caps")
    pages.register()
    error_page.install(app)
    app.on_startup(size_thread_pools)
    app.on_startup(on_startup)
    app.on_shutdown(on_shutdown)


def run(host: str | None = None, port: int | None = None, forwarded_allow_ips: str | None = None) -> None:
    global _served_port
    settings = get_settings()
    proxy: dict[str, object] = {"proxy_headers": settings.proxy_headers}
    if forwarded_allow_ips or settings.forwarded_allow_ips:
        # Behind a TLS proxy: whose X-Forwarded-Proto/-For to believe (HSTS and https links follow it).
        proxy["forwarded_allow_ips"] = forwarded_allow_ips or settings.forwarded_allow_ips
    settings.ensure_data_dir()
    _served_port = port or settings.port
    # The default worker id is hostname:port: two processes on one host started with `serve --port` must
    # not share one (each would take the other's jobs for its own and send them again).
    settings.port = _served_port
    build()
    ui.run(
        host=host or settings.host,
        port=_served_port,
        title="StoryCanvas",
        favicon="🎬",
        language="en-US",  # <html lang>: screen readers pick their voice by it
        dark=True,
        reload=False,
        show=False,
        storage_secret=settings.resolved_secret_key,
        fastapi_docs=API_DOCS,  # type: ignore[arg-type]  # NiceGUI's DocsConfig wants every key; it reads them with .get()
        show_welcome_message=False,
        **proxy,  # type: ignore[arg-type]  # uvicorn options that run passes on; mypy matches the dict against every named parameter
    )


if __name__ in {"__main__", "__mp_main__"}:
    run()
