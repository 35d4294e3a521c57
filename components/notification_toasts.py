"""Toasts for the signed-in person's new notices, in every open tab, with sound and desktop notices.

Each tab remembers the newest notice it knew when it opened and, on `notifications_changed` for its
person, shows what came after as toasts (bottom-right, auto-dismissed, kept while hovered). A burst
is coalesced: four variations finishing together make one "4 results ready" toast, and a result
that lands while such a toast is still up joins it instead of stacking another. Sound and desktop
notices follow the person's preferences; the browser-side part is notification_alerts.js.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from nicegui import background_tasks, ui

from app.services import events, notifications
from data.models import User
from data.words import counted

from . import browser_script
from .feedback import success
from .live_updates import Coalesced
from .notification_format import KIND_ICONS, NoticeView, group_body, group_key, group_link, group_title
from .service_call import call, read

_HERE = Path(__file__).parent
# Built once from a file we ship, never from data; Python calls its functions through browser_script.
ALERTS_SCRIPT = "<script>" + (_HERE / "notification_alerts.js").read_text() + "</script>"
_CSS = (_HERE / "notifications.css").read_text()

# How long a toast stays (failures longer: they ask for a decision), and after the pointer leaves it.
TOAST_SECONDS = {"positive": 6.0, "info": 6.0, "negative": 12.0}
AFTER_HOVER_SECONDS = 3.0
MAX_TOASTS = 4
# Whole class strings, chosen by level (a class list is parsed, so it is never built from stored values).
TOAST_CLASSES = {level: f"sc-toast sc-{level}" for level in ("positive", "info", "negative")}
TOAST_ICON_CLASSES = {level: f"text-{level}" for level in ("positive", "info", "negative")}
_FETCH_LIMIT = 500


class _Toast:
    """One toast: a group of notices of one kind, shown until it times out, is closed, or acted on."""

    def __init__(self, stack: NotificationToasts, key: str, views: list[NoticeView]) -> None:
        self.stack = stack
        self.key = key
        self.views = list(views)
        self.hovered = False
        self._armed = 0
        with stack.container:
            self.card = ui.element("div").props('data-testid="toast"')
        self.card.props["data-key"] = key
        self.card.on("mouseenter", self._enter)
        self.card.on("mouseleave", self._leave)
        self.render()
        self.arm()

    @property
    def level(self) -> str:
        return "negative" if any(view.level == "negative" for view in self.views) else self.views[-1].level

    def add(self, views: list[NoticeView]) -> None:
        self.views.extend(views)
        self.render()
        self.arm()

    def render(self) -> None:
        views = self.views
        self.card.classes(replace=TOAST_CLASSES.get(self.level, "sc-toast sc-info"))
        self.card.props["data-count"] = str(len(views))
        self.card.clear()
        retryable = [view.id for view in views if view.can_retry]
        with self.card, ui.row().classes("w-full items-start gap-2 no-wrap"):
            thumb = next((view.thumbnail for view in reversed(views) if view.thumbnail), None)
            if thumb:
                ui.image(thumb).classes("sc-toast-thumb")
            else:
                ui.icon(KIND_ICONS.get(views[-1].kind, "notifications"), size="20px").classes(
                    TOAST_ICON_CLASSES.get(self.level, "text-info")
                )
            with ui.column().classes("grow gap-0 min-w-0"):
                ui.label(group_title(views)).classes("sc-toast-title").props('data-testid="toast-title"')
                body = group_body(views)
                if body:
                    ui.label(body).classes("sc-toast-body").props('data-testid="toast-body"')
                with ui.row().classes("gap-1 mt-1"):
                    ui.button("Open", on_click=self.open).props(
                        'flat dense size=sm color=primary data-testid="toast-open"'
                    )
                    if retryable:
                        ui.button("Retry", icon="replay", on_click=lambda ids=retryable: self.retry(ids)).props(
                            'flat dense size=sm color=negative data-testid="toast-retry"'
                        )
            ui.button(icon="close", on_click=self.close).props(
                'flat dense round size=xs aria-label="Dismiss" data-testid="toast-close"'
            )

    def arm(self, seconds: float | None = None) -> None:
        """(Re)start the countdown; a newer countdown cancels older ones."""
        self._armed += 1
        armed = self._armed
        delay = TOAST_SECONDS.get(self.level, 6.0) if seconds is None else seconds

        async def later() -> None:
            await asyncio.sleep(delay)
            client = self.stack.client
            if armed == self._armed and not self.hovered and not client.is_deleted:
                with client:
                    self.dismiss()

        background_tasks.create(later(), name="toast timeout")

    def _enter(self) -> None:
        self.hovered = True

    def _leave(self) -> None:
        self.hovered = False
        self.arm(AFTER_HOVER_SECONDS)

    def dismiss(self) -> None:
        self._armed += 1
        self.stack.forget(self)
        if not self.card.is_deleted:
            self.card.delete()

    def _mark_read(self) -> None:
        ids = [view.id for view in self.views]
        call(notifications.mark_read, self.stack.user, ids)

    def close(self) -> None:
        self._mark_read()
        self.dismiss()

    def open(self) -> None:
        link = group_link(self.views)
        self._mark_read()
        self.dismiss()
        if link:
            ui.navigate.to(link)
        else:
            self.stack.show_panel(self.views[-1].kind)

    def retry(self, notification_ids: list[int]) -> None:
        count = call(notifications.retry, self.stack.user, notification_ids)
        self.dismiss()
        if count:
            success(f"{counted(count, 'job')} back in the queue.")


class NotificationToasts:
    """Per tab: the toast stack, the bell's count, sound and desktop notices for one person."""

    def __init__(
        self, user: User, *, on_count: Callable[[int], None], show_panel: Callable[[str | None], None]
    ) -> None:
        self.user = user
        self.on_count = on_count
        self.show_panel = show_panel
        self.client = ui.context.client
        ui.add_head_html(ALERTS_SCRIPT)
        ui.add_css(_CSS)
        self.last_seen = read(notifications.latest_id, user)
        self.container = ui.element("div").classes("sc-toasts").props('data-testid="toasts"')
        self.toasts: list[_Toast] = []
        self._update = Coalesced(self.update, delay=0.3, name="notification toasts")
        events.notifications_changed.subscribe(self._changed)

    def _changed(self, user_id: int) -> None:
        if user_id == self.user.id:
            self._update.request()

    def dismiss_all(self) -> None:
        for toast in list(self.toasts):
            toast.dismiss()

    def forget(self, toast: _Toast) -> None:
        if toast in self.toasts:
            self.toasts.remove(toast)

    def update(self) -> None:
        """The new count, and toasts (with sound and desktop notices) for what came since the last look."""
        news = read(notifications.news_since, self.user, self.last_seen, limit=_FETCH_LIMIT)
        fresh, count, preferences = news.fresh, news.unread, news.preferences
        views = [NoticeView.of(notice) for notice in fresh if not notice.read]
        if fresh:
            self.last_seen = fresh[-1].id  # type: ignore[assignment]  # a stored row's id is never None
        self.on_count(count)
        if not views:
            return
        groups: dict[str, list[NoticeView]] = {}
        for view in views:
            groups.setdefault(group_key(view), []).append(view)
        for key, members in groups.items():
            self._show(key, members)
            self._desktop(preferences, key, members)
        if preferences.sound:
            level = "negative" if any(view.level == "negative" for view in views) else "positive"
            browser_script.call("window.scAlerts.beep", level)

    def _show(self, key: str, views: list[NoticeView]) -> None:
        showing = next((toast for toast in self.toasts if toast.key == key), None)
        if showing is not None:
            showing.add(views)
            return
        self.toasts.append(_Toast(self, key, views))
        while len(self.toasts) > MAX_TOASTS:
            self.toasts[0].dismiss()

    def _desktop(self, preferences: notifications.Preferences, key: str, views: list[NoticeView]) -> None:
        """Only for work that took long enough; the browser side also wants the tab hidden and permission."""
        if not preferences.desktop:
            return
        if max((view.duration_seconds or 0.0) for view in views) < preferences.desktop_min_seconds:
            return
        notice = {
            "title": group_title(views),
            "body": group_body(views),
            "link": group_link(views) or "",
            # The same in every open tab, so the browser shows it once.
            "tag": f"storycanvas-{key}-{views[0].id}-{views[-1].id}",
        }
        browser_script.call("window.scAlerts.desktop", notice)
