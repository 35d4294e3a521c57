"""The outermost layer: /healthz never waits behind the stack, REST requests are let in a bounded number at a time."""

from __future__ import annotations

import asyncio

import httpx

from app.http_security import FrontDoor


async def test_health_is_answered_before_the_stack_with_the_security_headers() -> None:
    async def stack(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        raise AssertionError("the health check must not reach the middleware stack")

    transport = httpx.ASGITransport(app=FrontDoor(stack, api_concurrency=1))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]


async def test_rest_requests_past_the_bound_wait_at_the_door_and_pages_do_not() -> None:
    inside = {"api": 0, "most": 0}
    release = asyncio.Event()

    async def stack(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["path"].startswith("/api/"):
            inside["api"] += 1
            inside["most"] = max(inside["most"], inside["api"])
            await release.wait()
            inside["api"] -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    transport = httpx.ASGITransport(app=FrontDoor(stack, api_concurrency=3))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        burst = [asyncio.create_task(client.get(f"/api/v1/projects?n={n}")) for n in range(10)]
        await asyncio.sleep(0.1)
        page = await asyncio.wait_for(client.get("/projects"), timeout=2)  # not held behind the burst
        assert page.status_code == 200
        assert inside["api"] == 3
        release.set()
        answers = await asyncio.gather(*burst)
    assert [answer.status_code for answer in answers] == [200] * 10
    assert inside["most"] == 3
