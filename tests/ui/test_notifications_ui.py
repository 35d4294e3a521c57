"""Notifications with the simulated user: toasts with Open / Retry, coalescing, the bell's panel, preferences."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nicegui import ui
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction

from app.services import clips, events, notifications, scenes
from components import notification_toasts
from data.models import GenerationJob, Notification
from data.models import User as Account

from ..services.test_jobs_service import add_job
from .conftest import click_testid, eventually

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _forget_subscribers() -> Iterator[None]:
    yield
    events.notifications_changed.callbacks.clear()


def _by_testid(user: User, testid: str) -> list[ui.element]:
    return [e for e in user.client.layout.descendants() if e.props.get("data-testid") == testid]


def _texts(user: User, testid: str) -> list[str]:
    return [getattr(e, "text", "") for e in _by_testid(user, testid)]


def _toasts(user: User) -> list[ui.element]:
    return [e for e in _by_testid(user, "toast") if not e.is_deleted]


def _in(element: ui.element, testid: str) -> ui.element:
    (found,) = [e for e in element.descendants() if e.props.get("data-testid") == testid]
    return found


def _click(user: User, element: ui.element) -> None:
    UserInteraction(user, {element}, "").click()


def _badge(user: User) -> str | None:
    (badge,) = _by_testid(user, "notification-count")
    return badge.text if badge.visible else None  # type: ignore[attr-defined]


def _finish(db, project, clip_id: int, status: str, **fields: Any) -> GenerationJob:
    values: dict[str, Any] = {"created_at": T0, "finished_at": T0 + timedelta(seconds=40)}
    values.update(fields)
    return add_job(db, project, clip_id=clip_id, status=status, **values)


def _studio(db, account: Account, make_project) -> tuple[Any, int, int]:
    project = make_project(account, "Night Ferry")
    scene = scenes.create_scene(db, account, project.id, "Harbour")
    clip = clips.create_clip(db, account, scene.id, start=0, duration=2)
    return project, scene.id, clip.id  # type: ignore[return-value]


async def test_a_finished_job_toasts_with_open_and_a_failed_one_with_retry(
    user: User, sign_in, make_project, db
) -> None:
    account = await sign_in(user)
    project, scene_id, clip_id = _studio(db, account, make_project)
    await user.open("/projects")
    assert _badge(user) is None and _toasts(user) == []

    _finish(db, project, clip_id, "completed", params={"prompt": "a pier at dusk"})
    failed = _finish(db, project, clip_id, "failed", error="gpu-1: CUDA out of memory")
    assert notifications.sweep(db) == 2

    await eventually(lambda: len(_toasts(user)) == 2)
    assert sorted(_texts(user, "toast-title")) == ["Image failed: Harbour · #1", "Image ready: Harbour · #1"]
    assert "gpu-1: CUDA out of memory" in _texts(user, "toast-body")
    assert _badge(user) == "2"
    done_toast, failed_toast = sorted(_toasts(user), key=lambda t: t.props["data-key"])
    assert _in(done_toast, "toast-open").text == "Open"  # type: ignore[attr-defined]
    assert not [e for e in done_toast.descendants() if e.props.get("data-testid") == "toast-retry"]

    _click(user, _in(failed_toast, "toast-retry"))
    await user.should_see("1 job back in the queue.")
    db.expire_all()
    assert db.get(GenerationJob, failed.id).status == "queued"  # type: ignore[union-attr]
    await eventually(lambda: len(_toasts(user)) == 1 and _badge(user) == "1")

    _click(user, _in(done_toast, "toast-open"))
    await eventually(lambda: user.back_history[-1] == f"/scenes/{scene_id}?clip={clip_id}")
    assert notifications.unread_count(db, account) == 0


async def test_a_burst_of_results_makes_one_toast_and_later_ones_join_it(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project, _scene_id, clip_id = _studio(db, account, make_project)
    await user.open("/projects")

    for _ in range(4):
        _finish(db, project, clip_id, "completed")
    notifications.sweep(db)
    await eventually(lambda: _texts(user, "toast-title") == ["4 results ready"])
    assert _texts(user, "toast-body") == ["Harbour · #1"]
    assert len(_toasts(user)) == 1 and _badge(user) == "4"

    _finish(db, project, clip_id, "completed")
    notifications.sweep(db)
    await eventually(lambda: _texts(user, "toast-title") == ["5 results ready"])
    assert len(_toasts(user)) == 1 and _toasts(user)[0].props["data-count"] == "5"
    click_testid(user, "notification-bell")  # the panel lists them all: the toast steps aside
    await eventually(lambda: _toasts(user) == [] and len(_by_testid(user, "notification")) == 5)


async def test_failures_in_several_clips_make_one_toast_whose_open_shows_them_in_the_panel(
    user: User, sign_in, make_project, db
) -> None:
    account = await sign_in(user)
    project, scene_id, clip_id = _studio(db, account, make_project)
    other = clips.create_clip(db, account, scene_id, start=4, duration=2)
    _finish(db, project, clip_id, "failed", error="gpu-1: CUDA out of memory")
    _finish(db, project, other.id, "failed", error="gpu-2: CUDA out of memory")
    await user.open("/projects")

    notifications.sweep(db)
    await eventually(lambda: _texts(user, "toast-title") == ["2 jobs failed"])
    assert _texts(user, "toast-body") == ["Harbour · #1, Harbour · #2: gpu-2: CUDA out of memory"]
    (toast,) = _toasts(user)
    _click(user, _in(toast, "toast-retry"))
    await user.should_see("2 jobs back in the queue.")

    _finish(db, project, clip_id, "failed", error="again")
    _finish(db, project, other.id, "failed", error="again")
    notifications.sweep(db)
    await eventually(lambda: len(_toasts(user)) == 1)
    _click(user, _in(_toasts(user)[0], "toast-open"))  # two places: the panel lists them, on failures
    (kind,) = user.find(marker="notification-kind").elements
    await eventually(lambda: kind.value == "job_failed" and len(_by_testid(user, "notification")) == 4)  # type: ignore[attr-defined]
    assert _by_testid(user, "notification-panel")[0].value is True  # type: ignore[attr-defined]
    assert _toasts(user) == []


async def test_toasts_go_by_themselves_but_stay_while_hovered(
    user: User, sign_in, make_project, db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notification_toasts, "TOAST_SECONDS", {"positive": 0.4, "info": 0.4, "negative": 0.4})
    monkeypatch.setattr(notification_toasts, "AFTER_HOVER_SECONDS", 0.3)
    account = await sign_in(user)
    project, _scene_id, clip_id = _studio(db, account, make_project)
    await user.open("/projects")

    _finish(db, project, clip_id, "completed")
    notifications.sweep(db)
    await eventually(lambda: len(_toasts(user)) == 1)
    await eventually(lambda: _toasts(user) == [], timeout=3)
    assert _badge(user) == "1"  # gone from the screen, still unread in the bell

    _finish(db, project, clip_id, "failed", error="boom")
    notifications.sweep(db)
    await eventually(lambda: len(_toasts(user)) == 1)
    (toast,) = _toasts(user)
    UserInteraction(user, {toast}, "").trigger("mouseenter")
    await user.should_see("Image failed")
    import asyncio

    await asyncio.sleep(0.8)
    assert _toasts(user) == [toast]  # hovered: it waits
    UserInteraction(user, {toast}, "").trigger("mouseleave")
    await eventually(lambda: _toasts(user) == [], timeout=3)


async def test_panel_lists_filters_searches_marks_read_and_clears(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project, _scene_id, clip_id = _studio(db, account, make_project)
    _finish(db, project, clip_id, "completed", created_at=T0)
    _finish(db, project, clip_id, "failed", error="gpu-1: CUDA out of memory", created_at=T0 + timedelta(seconds=1))
    _finish(db, project, clip_id, "failed", error="Value not in list: ckpt_name", created_at=T0 + timedelta(seconds=2))
    notifications.sweep(db)
    await user.open("/projects")
    assert _badge(user) == "3"

    click_testid(user, "notification-bell")
    await eventually(lambda: len(_by_testid(user, "notification")) == 3)
    assert _texts(user, "notification-summary") == ["3 unread · showing 3 of 3"]

    (kind,) = user.find(marker="notification-kind").elements
    kind.set_value("job_failed")  # type: ignore[attr-defined]
    await eventually(lambda: _texts(user, "notification-title") == ["Image failed: Harbour · #1"] * 2)
    (search,) = user.find(marker="notification-search").elements
    search.set_value("ckpt")  # type: ignore[attr-defined]
    await eventually(lambda: len(_by_testid(user, "notification")) == 1)
    search.set_value("no such words")  # type: ignore[attr-defined]
    await user.should_see("Nothing matches these filters.")
    search.set_value("")  # type: ignore[attr-defined]
    kind.set_value("all")  # type: ignore[attr-defined]
    await eventually(lambda: len(_by_testid(user, "notification")) == 3)

    click_testid(user, "notification-read", index=0)
    await eventually(lambda: _badge(user) == "2")
    (unread,) = user.find(marker="notification-unread").elements
    unread.set_value(True)  # type: ignore[attr-defined]
    await eventually(lambda: len(_by_testid(user, "notification")) == 2)
    unread.set_value(False)  # type: ignore[attr-defined]

    click_testid(user, "notifications-read-all")
    await eventually(lambda: _badge(user) is None)
    assert {e.props["data-read"] for e in _by_testid(user, "notification")} == {"true"}

    click_testid(user, "notification-delete", index=0)
    await eventually(lambda: len(_by_testid(user, "notification")) == 2)
    click_testid(user, "notifications-clear")
    await user.should_see("Remove every 2 notices shown from the history?")
    click_testid(user, "confirm-action", index=-1)
    await user.should_see("No notifications yet.")
    assert db.exec(Notification.__table__.select()).all() == []  # type: ignore[attr-defined]


async def test_panel_row_opens_its_link_and_retries(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project, scene_id, clip_id = _studio(db, account, make_project)
    failed = _finish(db, project, clip_id, "failed", error="boom")
    notifications.sweep(db)
    await user.open("/projects")
    click_testid(user, "notification-bell")
    await eventually(lambda: len(_by_testid(user, "notification-retry")) == 1)

    click_testid(user, "notification-retry")
    await user.should_see("1 job back in the queue.")
    db.expire_all()
    assert db.get(GenerationJob, failed.id).status == "queued"  # type: ignore[union-attr]
    click_testid(user, "notification-open")
    await eventually(lambda: user.back_history[-1] == f"/scenes/{scene_id}?clip={clip_id}")


async def test_preferences_are_saved_from_the_account_page(user: User, sign_in, db) -> None:
    account = await sign_in(user)
    await user.open("/account")
    await user.should_see("Notifications")
    await user.should_see("Desktop notifications")

    user.find(marker="pref-job_completed").click()
    await eventually(lambda: not _prefs(db, account).events["job_completed"])
    user.find(marker="pref-sound").click()
    await eventually(lambda: _prefs(db, account).sound)
    (minimum,) = user.find(marker="pref-desktop-min").elements
    minimum.set_value(90)  # type: ignore[attr-defined]
    await eventually(lambda: _prefs(db, account).desktop_min_seconds == 90)

    # The browser says no: desktop notices stay off, and the page says how to allow them.
    user.javascript_rules[re.compile(r".*window\.scAlerts\.request\(\)")] = lambda _: "denied"
    click_testid(user, "desktop-enable")
    await user.should_see("Your browser blocks notifications from this site")
    assert _prefs(db, account).desktop is False

    # The browser says yes: saved.
    user.javascript_rules[re.compile(r".*window\.scAlerts\.request\(\)")] = lambda _: "granted"
    click_testid(user, "desktop-enable")
    await user.should_see("Desktop notifications are on for this browser.")
    assert _prefs(db, account).desktop is True
    await user.should_see("On: shown while StoryCanvas is in a background tab.")
    click_testid(user, "desktop-off")
    await eventually(lambda: _prefs(db, account).desktop is False)
    assert _prefs(db, account).events == {"job_completed": False, "job_failed": True, "batch_finished": True}


def _prefs(db, account: Account) -> notifications.Preferences:
    db.expire_all()
    return notifications.get_preferences(db.get(Account, account.id))
