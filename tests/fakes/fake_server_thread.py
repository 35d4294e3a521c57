"""Serving an ASGI app from a background thread, for fakes that tests start in-process."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Any

import uvicorn
from starlette.types import ASGIApp


class BackgroundServer:
    """An ASGI app on 127.0.0.1 served by uvicorn in a thread with its own loop.

    It can go down (connections refused) and come back on the same port while the loop, and
    whatever else runs on it, keeps going.
    """

    def __init__(self, app: ASGIApp, port: int = 0, host: str = "127.0.0.1") -> None:
        self.app = app
        self.host = host
        self.port = port
        self.loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self._serving: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def is_up(self) -> bool:
        return self._serving is not None and not self._serving.done()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.loop.run_forever, name=f"fake-server-{id(self)}", daemon=True)
        self._thread.start()
        self.up()

    def in_loop(self) -> bool:
        return self._thread is threading.current_thread()

    def call(self, coroutine: Any, timeout: float = 15.0) -> Any:
        """Runs a coroutine on the server's loop from another thread and returns its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def up(self) -> None:
        self.call(self.up_async())

    def down(self) -> None:
        self.call(self.down_async())

    async def up_async(self) -> None:
        if self.is_up:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", ws="wsproto", access_log=False, timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._serving = asyncio.ensure_future(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._serving.done():
                self._serving.result()
            await asyncio.sleep(0.005)

    async def down_async(self) -> None:
        if self._server is None or self._serving is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(Exception):
            await self._serving
        self._serving = None

    def stop(self) -> None:
        if self._thread is None:
            return
        with contextlib.suppress(Exception):
            self.down()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self._thread = None
