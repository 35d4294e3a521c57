"""The bell in the header and the notification history it opens: a right-hand drawer with filters and search.

The list is built only when the drawer is first opened and redrawn on changes only while it is
open, so pages that nobody opens it on pay one count query for the bell.
"""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from app.services import notifications
from data.models import Notification, User
from data.words import counted

from .confirm import confirm
from .feedback import success
from .job_format import age, clock
from .notification_format import KIND_ICONS, LEVEL_TEXT_CLASSES
from .service_call import call, read

PAGE_SIZE = 50
KIND_FILTERS = {"all": "All", "job_completed": "Results", "job_failed": "Failures", "batch_finished": "Batches"}


class NotificationBell:
    """The header's bell with the unread count (hidden at zero)."""

    def __init__(self, count: int, on_click: Callable[[], None]) -> None:
        with ui.button(icon="notifications", on_click=on_click).props(
            'flat dense round color=white aria-label="Notifications" data-testid="notification-bell"'
        ) as self.button:
            self.badge = ui.badge("", color="negative").props('floating rounded data-testid="notification-count"')
        self.button.tooltip("Notifications")
        self.count = 0
        self.set_count(count)

    def set_count(self, count: int) -> None:
        self.count = count
        self.badge.set_text("99+" if count > 99 else str(count))
        self.badge.set_visibility(count > 0)


class NotificationPanel:
    """The person's notices, newest first: filter by kind, unread only, search; open, retry, mark read, remove."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.kind = "all"
        self.unread_only = False
        self.query = ""
        self.limit = PAGE_SIZE
        self.built = False
        self._opened: list[Callable[[], None]] = []
        self.drawer = (
            ui.right_drawer(value=False, fixed=True, bordered=True)
            .props('overlay elevated width=400 data-testid="notification-panel"')
            .classes("p-0")
        )
        self.drawer.on_value_change(lambda e: self._open_changed(bool(e.value)))
        with self.drawer, ui.column().classes("w-full gap-2 p-3"):
            with ui.row().classes("w-full items-center gap-1 no-wrap"):
                ui.label("Notifications").classes("text-subtitle1 grow")
                ui.button(icon="done_all", on_click=self.read_all).props(
                    'flat dense round size=sm aria-label="Mark all read" data-testid="notifications-read-all"'
                ).tooltip("Mark all read")
                ui.button(icon="delete_sweep", on_click=self.ask_clear).props(
                    'flat dense round size=sm aria-label="Remove the listed notices" data-testid="notifications-clear"'
                ).tooltip("Remove the notices shown")
                ui.button(icon="close", on_click=self.drawer.hide).props(
                    'flat dense round size=sm aria-label="Close the notifications"'
                )
            self.kind_toggle = (
                ui.toggle(KIND_FILTERS, value="all", on_change=lambda e: self.set_kind(e.value))
                .props("dense no-caps unelevated toggle-color=primary size=sm")
                .mark("notification-kind")
            )
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                self.search = (
                    ui.input(placeholder="Search title or message", on_change=lambda e: self.set_query(e.value))
                    .props('dense outlined clearable debounce=300 data-testid="notification-search"')
                    .classes("grow")
                    .mark("notification-search")
                )
                with self.search.add_slot("prepend"):
                    ui.icon("search", size="18px")
                ui.checkbox("Unread", on_change=lambda e: self.set_unread(e.value)).props("dense").mark(
                    "notification-unread"
                )
            self.summary = ui.label("").classes("sc-muted text-xs").props('data-testid="notification-summary"')
            self.list = ui.column().classes("w-full gap-0").props('data-testid="notification-list"')

    # --- opening and filtering --------------------------------------------------------------------

    def on_open(self, callback: Callable[[], None]) -> None:
        """Called whenever the panel opens (the toasts step aside: the panel lists what they said)."""
        self._opened.append(callback)

    def _open_changed(self, opened: bool) -> None:
        if not opened:
            return
        for callback in self._opened:
            callback()
        self.refresh()

    def toggle(self) -> None:
        self.drawer.toggle()

    def show(self, kind: str | None = None) -> None:
        """Opens the panel, on one kind when given (a toast's Open for notices in several places)."""
        if kind is not None and kind in KIND_FILTERS:
            self.kind_toggle.set_value(kind)  # redraws through set_kind when it changes
        if self.drawer.value:
            self.refresh()
        else:
            self.drawer.show()  # redraws through the drawer's value change

    def set_kind(self, kind: str | None) -> None:
        self.kind = kind or "all"
        self._first_page()

    def set_query(self, query: str | None) -> None:
        self.query = (query or "").strip()
        self._first_page()

    def set_unread(self, unread: bool) -> None:
        self.unread_only = bool(unread)
        self._first_page()

    def _first_page(self) -> None:
        self.limit = PAGE_SIZE
        self.refresh()

    def _filters(self) -> notifications.NotificationFilter:
        return notifications.NotificationFilter(
            kind=None if self.kind == "all" else self.kind,
            unread=True if self.unread_only else None,
            q=self.query or None,
        )

    # --- the list ---------------------------------------------------------------------------------

    def refresh_if_open(self) -> None:
        if self.drawer.value:
            self.refresh()

    def refresh(self) -> None:
        page = read(notifications.list_notifications, self.user, self._filters(), limit=self.limit)
        self.built = True
        self.list.clear()
        filtered = self._filters() != notifications.ALL
        shown = len(page.items)
        self.summary.set_text(
            f"{page.unread} unread · showing {shown} of {page.total}" if page.total else f"{page.unread} unread"
        )
        with self.list:
            if not page.items:
                with (
                    ui.column()
                    .classes("w-full items-center py-8 gap-1 sc-empty")
                    .props('data-testid="notifications-empty"')
                ):
                    ui.icon("notifications_none", size="32px").classes("sc-muted")
                    if filtered:
                        ui.label("Nothing matches these filters.").classes("text-sm")
                        ui.label("Clear the search, untick Unread or choose All.").classes("sc-muted text-xs")
                    else:
                        ui.label("No notifications yet.").classes("text-sm")
                        ui.label("When a generation finishes or fails, it is listed here.").classes("sc-muted text-xs")
                return
            for notice in page.items:
                self._row(notice)
            if shown < page.total:
                ui.button(f"Show {min(PAGE_SIZE, page.total - shown)} more", on_click=self.more).props(
                    'flat dense no-caps size=sm data-testid="notifications-more"'
                ).classes("self-center mt-1")

    def more(self) -> None:
        self.limit += PAGE_SIZE
        self.refresh()

    def _row(self, notice: Notification) -> None:
        row = ui.row().classes("sc-notice w-full items-start gap-2 no-wrap")
        if not notice.read:
            row.classes("sc-unread")
        row.props.update(
            {"data-testid": "notification", "data-id": str(notice.id), "data-read": "true" if notice.read else "false"}
        )
        with row:
            icon = ui.icon(KIND_ICONS.get(notice.kind, "notifications"), size="18px").classes("mt-[2px]")
            icon.classes(LEVEL_TEXT_CLASSES.get(notice.level, "text-primary"))
            text = ui.column().classes("grow gap-0 min-w-0").props('data-testid="notification-open"')
            text.on("click", lambda n=notice: self.open(n))
            with text:
                ui.label(notice.title).classes("sc-notice-title").props('data-testid="notification-title"')
                if notice.body:
                    ui.label(notice.body).classes("sc-notice-body").tooltip(notice.body)
                meta = [age(notice.created_at)]
                if notice.duration_seconds:
                    meta.append(f"took {clock(notice.duration_seconds)}")
                project = (notice.extra or {}).get("project_name")
                if project:
                    meta.append(str(project))
                ui.label(" · ".join(meta)).classes("sc-notice-meta")
            with ui.row().classes("gap-0 no-wrap items-center"):
                if not notice.read:
                    ui.element("span").classes("sc-unread-dot mr-1")
                if notifications.can_retry(notice):
                    ui.button(icon="replay", on_click=lambda n=notice: self.retry(n)).props(
                        'flat dense round size=sm color=negative aria-label="Retry" data-testid="notification-retry"'
                    ).tooltip("Retry")
                if not notice.read:
                    ui.button(icon="mark_email_read", on_click=lambda n=notice: self.mark_read(n)).props(
                        'flat dense round size=sm aria-label="Mark read" data-testid="notification-read"'
                    ).tooltip("Mark read")
                ui.button(icon="close", on_click=lambda n=notice: self.delete(n)).props(
                    'flat dense round size=sm aria-label="Remove from the list" data-testid="notification-delete"'
                ).tooltip("Remove from the list")

    # --- actions ----------------------------------------------------------------------------------

    def open(self, notice: Notification) -> None:
        call(notifications.mark_read, self.user, [notice.id])  # type: ignore[list-item]  # a stored row's id is never None
        if notice.link:
            ui.navigate.to(notice.link)
        else:
            self.refresh()

    def mark_read(self, notice: Notification) -> None:
        call(notifications.mark_read, self.user, [notice.id])  # type: ignore[list-item]  # a stored row's id is never None
        self.refresh()

    def read_all(self) -> None:
        call(notifications.mark_all_read, self.user)
        self.refresh()

    def retry(self, notice: Notification) -> None:
        count = call(notifications.retry, self.user, [notice.id])  # type: ignore[list-item]  # a stored row's id is never None
        if count:
            success(f"{counted(count, 'job')} back in the queue.")
        self.refresh()

    def delete(self, notice: Notification) -> None:
        call(notifications.delete_notification, self.user, notice.id)  # type: ignore[arg-type]  # a stored row's id is never None
        self.refresh()

    def ask_clear(self) -> None:
        total = read(notifications.list_notifications, self.user, self._filters(), limit=1).total
        if not total:
            ui.notify("Nothing to remove: the list is empty.", position="top")
            return
        which = "notice" if total == 1 else "notices"
        shown = "every" if self._filters() == notifications.ALL else "the"
        confirm(
            "Clear notifications",
            f"Remove {shown} {total} {which} shown from the history?\nThe jobs, batches and results stay.",
            "Remove",
            self.clear,
        )

    def clear(self) -> None:
        count = call(notifications.clear, self.user, self._filters())
        if count:
            success(f"Removed {counted(count, 'notice')}.")
        self.refresh()
