"""JSON request bodies refused in words when nested deeper than any route needs.

FastAPI parses a body before a route sees it, and a body nested thousands of levels deep makes Python's parser
give up with a RecursionError that FastAPI answers as 400 "There was an error parsing the body". Routers that
take free-form JSON (workflow graphs) use this route class: the body is measured first and refused with 422
saying why; the services keep their own, tighter limits for what they store.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from app.services import json_limits

MAX_BODY_DEPTH = 64


class BoundedJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            if request.method in ("POST", "PUT", "PATCH") and "json" in request.headers.get("content-type", ""):
                body = await request.body()  # cached by Starlette: the route reads the same bytes again
                if body:
                    with contextlib.suppress(ValueError):  # not JSON at all: FastAPI says so in its own words
                        json_limits.loads(body, max_depth=MAX_BODY_DEPTH, what="The request body")
            return await handler(request)

        return bounded
