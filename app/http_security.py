"""What every HTTP answer carries and what every request may send: security headers, body caps,
the upload guard and CORS, as one pure ASGI middleware on the app.

Pure ASGI rather than BaseHTTPMiddleware so request bodies stream through while being counted and
responses (media with Range, exports) are not buffered. The middleware is added by `install()` in
`app.main.build()`, before NiceGUI adds its own middlewares, so it sits innermost: NiceGUI's session
(the browser's signed cookie) is already decoded in the scope when an upload is checked.

The Content-Security-Policy is as strict as NiceGUI 3.18 allows, not stricter:
- script-src needs 'unsafe-inline' (the page template's inline scripts carry no nonce) and
  'unsafe-eval' (Vue's runtime template compiler, and NiceGUI evaluates `run_javascript` and
  `:prop` bindings with eval/new Function). The defence against injected script is therefore that
  user text never reaches JavaScript or Vue-parsed strings (tests/test_user_text_rendering.py); the
  policy adds that nothing loads from, posts to or frames in any other origin.
- style-src needs 'unsafe-inline' (Quasar and NiceGUI set inline styles and add style elements).
- images and media may be data:/blob: (previews, thumbnails made in the browser).
- connect-src is the same origin, plus its ws:/wss: form for browsers whose 'self' does not cover
  websockets yet.
The API documentation at /api/docs is served from files in app/static/swagger-ui (no CDN), so the
same policy covers it; /api/redoc (a CDN page in FastAPI) leads to /api/docs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request, cookie_parser
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings

log = logging.getLogger("storycanvas.http")

MB = 1024 * 1024
# Multipart framing around each file (boundary, part headers, file name): generous, still tiny.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
HSTS_VALUE = "max-age=31536000; includeSubDomains"
SWAGGER_DIR = Path(__file__).resolve().parent / "static" / "swagger-ui"
DOCS_ASSETS_PATH = "/api/docs/assets"
IMPORT_PATH = "/api/v1/projects/import"
UPLOAD_PATH = re.compile(r"^/_nicegui/client/(?P<client>[^/]+)/upload/(?P<element>\d+)$")
# A Host header we are willing to repeat inside the policy (anything else is left out).
SAFE_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)

# Whether the browser behind a plain HTTP request (no page context) has a signed-in user.
SignedIn = Callable[[Request], bool]


def content_security_policy(host: str | None) -> str:
    """The page policy; `host` (the request's Host header) adds the ws:/wss: spelling of 'self'."""
    connect = "'self'"
    if host and SAFE_HOST.match(host):
        connect += f" ws://{host} wss://{host}"
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "media-src 'self' data: blob:",
            "font-src 'self' data:",
            f"connect-src {connect}",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        )
    )


def security_headers(scope: Scope) -> list[tuple[str, str]]:
    """Headers every answer carries; HSTS only when the request came over HTTPS (after proxy headers)."""
    headers = Headers(scope=scope)
    values = [
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "SAMEORIGIN"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", PERMISSIONS_POLICY),
        ("Content-Security-Policy", content_security_policy(headers.get("host"))),
    ]
    if scope.get("scheme") == "https":
        values.append(("Strict-Transport-Security", HSTS_VALUE))
    return values


def _size(limit: int) -> str:
    """A byte count as people say it (caps are whole megabytes by default)."""
    if limit >= MB:
        return f"{limit / MB:.0f} MB" if limit % MB == 0 else f"{limit / MB:.1f} MB"
    return f"{max(1, limit // 1024)} KB"


class BodyTooLarge(HTTPException):
    """Raised from the counting `receive` when a streamed body passes its cap.

    An HTTPException, so FastAPI passes it on while reading a body (it turns other errors there into
    400 "error parsing the body") and its exception handler answers 413 with these words.
    """

    def __init__(self, message: str) -> None:
        super().__init__(413, detail=message, headers={"Connection": "close"})
        self.message = message


async def _send_json(send: Send, status: int, detail: str, extra: Iterable[tuple[str, str]] = ()) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def upload_cap(element: Any, ceiling: int) -> int:
    """The most a NiceGUI ui.upload element's endpoint accepts: its own max sizes, never above `ceiling`.

    ui.upload hands max_file_size/max_total_size/max_files to Quasar only, which checks them in the
    browser; NiceGUI's endpoint reads whatever is posted. These are the same props, read back here.
    """
    props = getattr(element, "_props", {})
    per_file = props.get("max-file-size")
    total = props.get("max-total-size")
    files = props.get("max-files") or (1 if not props.get("multiple") else None)
    cap = ceiling
    if total:
        cap = min(cap, int(total))
    elif per_file and files:
        cap = min(cap, int(per_file) * int(files))
    return cap + MULTIPART_OVERHEAD_BYTES * int(files or 1)


class HttpSecurityMiddleware:
    """Headers on every answer, body caps on every request, the upload guard and the closed CORS preflight."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_request_bytes: int,
        max_import_bytes: int,
        max_upload_bytes: int,
        cors_origins: Iterable[str] = (),
        signed_in: SignedIn | None = None,
    ) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.max_import_bytes = max_import_bytes
        self.max_upload_bytes = max_upload_bytes
        self.cors_origins = frozenset(cors_origins)
        self.signed_in = signed_in

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(scope)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in extra:
                    # A route may set its own (stricter or documented) value: keep it.
                    if name not in headers:
                        headers[name] = value
                # Pages hold what only the signed-in user may see: keep them out of disk caches
                # (Back after sign-out then asks the server, which sends the sign-in page).
                if headers.get("content-type", "").startswith("text/html") and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        refusal = self._refusal(scope)
        if refusal is not None:
            status, detail = refusal
            await _send_json(send_with_headers, status, detail)
            return
        cap, what = self._cap(scope)
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge(_too_large(what, cap))
            return message

        try:
            await self.app(scope, counting_receive, send_with_headers)
        except BodyTooLarge as error:
            if started:
                raise
            await _send_json(send_with_headers, 413, error.message, [("Connection", "close")])
        except Exception as error:
            # Starlette and NiceGUI wrap errors raised while reading a form; find ours underneath.
            cause = _body_too_large_cause(error)
            if cause is None or started:
                raise
            await _send_json(send_with_headers, 413, cause.message, [("Connection", "close")])

    def _cap(self, scope: Scope) -> tuple[int, str]:
        path = scope.get("path", "")
        if path == IMPORT_PATH:
            return self.max_import_bytes, "project import"
        match = UPLOAD_PATH.match(path)
        if match:
            element = _upload_element(match["client"], int(match["element"]))
            if element is None:
                return self.max_upload_bytes, "upload"
            return upload_cap(element, self.max_upload_bytes), "upload"
        return self.max_request_bytes, "request"

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        """A status and words for a request refused before its body is read, or None."""
        headers = Headers(scope=scope)
        method = scope.get("method", "GET")
        origin = headers.get("origin")
        preflight = method == "OPTIONS" and origin and "access-control-request-method" in headers
        if preflight and origin not in self.cors_origins:
            # Same status as Starlette's CORSMiddleware for an origin it does not list, and no
            # Access-Control-Allow-* header: the browser refuses the cross-origin request.
            return 400, (
                "Cross-origin requests from that origin are not allowed here: an administrator can list "
                "the origin in STORYCANVAS_CORS_ORIGINS."
            )
        match = UPLOAD_PATH.match(scope.get("path", "")) if method == "POST" else None
        if match and not self._is_signed_in(scope):
            return 403, "Uploads need a signed-in session: sign in again, then choose the file once more."
        if match and not _same_browser(match["client"], scope):
            return 403, "This upload belongs to a page opened in another browser session: reload the page and retry."
        length = headers.get("content-length")
        if length is not None:
            cap, what = self._cap(scope)
            if not length.isdigit():
                return 400, "The Content-Length header is not a number of bytes."
            if int(length) > cap:
                return 413, _too_large(what, cap)
        return None

    def _is_signed_in(self, scope: Scope) -> bool:
        if self.signed_in is None:
            return True
        try:
            return bool(self.signed_in(Request(scope)))
        except Exception:  # no session, an expired one, a storage error: not signed in
            log.debug("upload refused: no signed-in session could be read", exc_info=True)
            return False


def _too_large(what: str, cap: int) -> str:
    if what == "upload":
        return (
            f"The file is too large: this field accepts at most {_size(max(0, cap - MULTIPART_OVERHEAD_BYTES))}. "
            "Choose a smaller file."
        )
    if what == "project import":
        return (
            f"The project export is larger than the {_size(cap)} this server accepts for an import "
            "(STORYCANVAS_MAX_IMPORT_BYTES)."
        )
    return (
        f"The request body is larger than the {_size(cap)} this server accepts "
        "(STORYCANVAS_MAX_REQUEST_BYTES); send less data per request."
    )


def _body_too_large_cause(error: BaseException) -> BodyTooLarge | None:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, BodyTooLarge):
            return current
        seen.add(id(current))
        nested = getattr(current, "exceptions", None)  # an ExceptionGroup from a task group
        if nested:
            for inner in nested:
                found = _body_too_large_cause(inner)
                if found is not None:
                    return found
        current = current.__cause__ or current.__context__
    return None


def _upload_element(client_id: str, element_id: int) -> Any | None:
    from nicegui import Client
    from nicegui.elements.upload import Upload

    client = Client.instances.get(client_id)
    element = client.elements.get(element_id) if client is not None else None
    return element if isinstance(element, Upload) else None


def _same_browser(client_id: str, scope: Scope) -> bool:
    """The upload's page was opened by the browser that posts to it (its NiceGUI session id)."""
    from nicegui import Client

    client = Client.instances.get(client_id)
    if client is None:
        return True  # no such page: NiceGUI answers 404 itself
    try:
        page_session = client.request.session.get("id")
    except (AssertionError, AttributeError):
        return True  # the page was rendered without session middleware (tests without storage)
    request_session = (scope.get("session") or {}).get("id")
    return page_session is None or page_session == request_session


def _mount_docs(app: FastAPI) -> None:
    """Swagger UI from our own files; FastAPI's default page loads it from a CDN the policy forbids.

    Registered before ui.run() lets FastAPI add its own /api/docs and /api/redoc routes: Starlette
    takes the first route that matches, so these answer.
    """
    docs_url = app.docs_url or "/api/docs"
    openapi_url = app.openapi_url or "/api/openapi.json"
    redirect_url = app.swagger_ui_oauth2_redirect_url

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - API",
            swagger_js_url=f"{root}{DOCS_ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS_PATH}/favicon-32x32.png",
            oauth2_redirect_url=(root + redirect_url) if redirect_url else None,
            # Swagger UI would otherwise send the schema to an online validator.
            swagger_ui_parameters={"validatorUrl": None},
        )

    async def redoc(_request: Request) -> RedirectResponse:
        return RedirectResponse(docs_url)

    app.add_route(docs_url, swagger_ui, include_in_schema=False)
    if app.redoc_url:
        app.add_route(app.redoc_url, redoc, include_in_schema=False)
    app.mount(DOCS_ASSETS_PATH, StaticFiles(directory=SWAGGER_DIR), name="swagger-ui-assets")


HEALTH_PATH = "/healthz"
# NiceGUI's (Starlette's) session cookie.
_NICEGUI_COOKIE = "session"
HEALTH_BODY = b'{"status":"ok"}'


class FrontDoor:
    """The outermost layer: /healthz answered at once, REST requests let in a bounded number at a time.

    Everything runs on one event loop. Behind a burst of 200 requests, each step of each request's
    way through the middleware stack takes its turn, and a health check queued behind them all
    waited about half a second. So /healthz is answered here, before any other layer, and REST
    requests beyond `api_concurrency` wait here (parked, costing the loop nothing) instead of all
    crowding the loop at once; pages and NiceGUI's own files are not held back.
    """

    def __init__(self, app: ASGIApp, api_concurrency: int) -> None:
        self.app = app
        self.api_concurrency = api_concurrency
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def _gate(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Semaphore(self.api_concurrency)
        return gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path == HEALTH_PATH and scope.get("method") in ("GET", "HEAD"):
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(HEALTH_BODY)).encode())]
            headers += [(name.lower().encode(), value.encode()) for name, value in security_headers(scope)]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": HEALTH_BODY if scope["method"] == "GET" else b""})
            return
        if path.startswith("/api/"):
            async with self._gate():
                try:
                    await self.app(scope, receive, send)
                finally:
                    _forget_page_storage_of_a_script(scope)
            return
        await self.app(scope, receive, send)


def _forget_page_storage_of_a_script(scope: Scope) -> None:
    """Drop the page storage NiceGUI made for a REST call that came without its browser cookie.

    NiceGUI gives every request without its session cookie a new id and keeps a storage for it
    for the life of the process: a script calling the API 100,000 times would leave 100,000 of
    them. The REST API never uses that storage (pages do, with their cookie), so it goes at once.
    """
    if _NICEGUI_COOKIE in cookie_parser(Headers(scope=scope).get("cookie", "")):
        return
    session_id = (scope.get("session") or {}).get("id")
    if session_id:
        from nicegui import app as nicegui_app

        nicegui_app.storage._users.pop(session_id, None)  # NiceGUI offers no public way


def answer_at_the_front_door(app: FastAPI, api_concurrency: int) -> None:
    """Wrap the app's middleware stack (built on its first request) in FrontDoor, outside NiceGUI's layers."""
    build = app.build_middleware_stack

    def build_behind_the_front_door() -> ASGIApp:
        return FrontDoor(build(), api_concurrency)

    app.build_middleware_stack = build_behind_the_front_door  # type: ignore[method-assign]  # the front door wraps Starlette's middleware stack on purpose


def install(app: FastAPI, settings: Settings, *, signed_in: SignedIn | None = None) -> None:
    """Add the middleware (and CORS when origins are listed) and the offline API documentation.

    `signed_in` answers whether the current request's browser has a signed-in user; the app passes
    the browser-session check of components/session.py (the layer that owns it), tests their own.
    """
    origins = settings.cors_origin_list
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            allow_credentials=False,  # the API takes bearer tokens; cookies stay same-origin
        )
    # Added after CORS, so it wraps it: CORS answers get the headers too.
    app.add_middleware(
        HttpSecurityMiddleware,
        max_request_bytes=settings.max_request_bytes,
        max_import_bytes=settings.max_import_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        cors_origins=origins,
        signed_in=signed_in,
    )
    answer_at_the_front_door(app, api_concurrency=2 * settings.worker_threads)
    _mount_docs(app)
