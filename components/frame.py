"""The shared page frame: header, navigation, theme, the signed-in user's menu and their notifications."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nicegui import ui
from nicegui.elements.mixins.text_element import TextElement

from app.services import notifications, users
from data.models import User

from .a11y import name_icon_buttons
from .notification_panel import NotificationBell, NotificationPanel
from .notification_toasts import NotificationToasts
from .service_call import call, read
from .session import sign_out

_CSS = (Path(__file__).parent / "theme.css").read_text()


def apply_theme(theme: str = "dark") -> ui.dark_mode:
    ui.add_css(_CSS)
    ui.colors(
        primary="#7c9cff",
        secondary="#495057",
        accent="#7c9cff",
        positive="#40c057",
        negative="#fa5252",
        warning="#fab005",
        dark="#1d2027",
        dark_page="#15171c",
    )
    return ui.dark_mode(value=theme != "light")


# Studio-wide pages, reachable from every page's header.
NAVIGATION = [
    ("Projects", "/projects", "movie"),
    ("Queue", "/queue", "queue"),
    ("History", "/history", "history"),
    ("Servers", "/servers", "dns"),
    ("Workflows", "/workflows", "account_tree"),
]


class FrameTitle:
    """The frame's title in the header and the browser tab, kept in step when what it names is renamed."""

    def __init__(self, label: TextElement) -> None:
        self._label = label

    def set(self, title: str) -> None:
        self._label.set_text(title)
        ui.page_title(f"{title} · StoryCanvas")


@contextmanager
def frame(title: str, user: User, *, breadcrumbs: list[tuple[str, str]] | None = None) -> Iterator[FrameTitle]:
    """Every signed-in page opens this, then composes its own content inside."""
    ui.page_title(f"{title} · StoryCanvas")
    dark = apply_theme(user.theme)

    def toggle_theme() -> None:
        theme = "light" if dark.value else "dark"
        dark.set_value(theme == "dark")
        call(users.set_theme, user, theme)

    def logout() -> None:
        sign_out()  # ends the session, then posts to the sign-out route, which leads to /login

    unread = read(notifications.unread_count, user)
    panel = NotificationPanel(user)
    current = ui.context.client.request.url.path if ui.context.client.request else ""
    with ui.header().classes("sc-header items-center px-4 py-1 gap-x-3 gap-y-0 wrap"):
        ui.link("Skip to content", "#main").classes("sc-skip")
        with ui.element("nav").classes("sc-trail row items-center no-wrap gap-2 min-w-0").props(
            'aria-label="Breadcrumbs"'
        ):
            ui.link("StoryCanvas", "/projects").classes("sc-brand text-white no-underline text-base")
            for label, target in breadcrumbs or []:
                ui.label("/").classes("text-white sc-muted").props('aria-hidden="true"')
                ui.link(label, target).classes("sc-crumb text-white no-underline")
            ui.label("/").classes("text-white sc-muted").props('aria-hidden="true"')
            # The page's one h1: what the page is about, kept in step when it is renamed.
            title_label = TextElement(tag="h1", text=title).classes("sc-title text-white")
            title_label.props["data-testid"] = "page-title"
        ui.space()
        with ui.element("nav").classes("sc-nav row items-center no-wrap gap-1").props('aria-label="Studio"'):
            for label, target, icon in NAVIGATION:
                # Real links: they open in a new tab, and the current page says so to screen readers.
                nav = ui.button(label, icon=icon).props("flat dense no-caps color=white size=sm")
                nav.props["href"] = target
                nav.props["aria-label"] = label  # on phones only the icon shows
                nav.props["data-testid"] = f"nav-{label.lower()}"
                nav.classes("sc-nav-link")
                if current == target or (target == "/projects" and current.startswith(("/projects/", "/scenes/"))):
                    nav.props["aria-current"] = "page"
            bell = NotificationBell(unread, panel.toggle)
            ui.button(icon="contrast", on_click=toggle_theme).props(
                'flat dense round color=white aria-label="Toggle dark or light theme"'
            ).tooltip("Dark / light")
            # The name is the button's text, a value: formatted into .props() it would be parsed as attributes.
            with (
                ui.button(user.username, icon="account_circle").props(
                    'flat dense no-caps color=white data-testid="user-menu" aria-label="Account menu"'
                ),
                ui.menu(),
            ):
                ui.menu_item("Account", lambda: ui.navigate.to("/account")).props("dense")
                if user.is_admin:
                    ui.menu_item("Users", lambda: ui.navigate.to("/users")).props('dense data-testid="menu-users"')
                ui.menu_item("Sign out", logout).props('dense data-testid="sign-out"')

    def notices_changed(count: int) -> None:
        bell.set_count(count)
        panel.refresh_if_open()

    toasts = NotificationToasts(user, on_count=notices_changed, show_panel=panel.show)
    panel.on_open(toasts.dismiss_all)
    with ui.element("main").classes("sc-main column w-full mx-auto p-4 gap-3 no-wrap").props('id="main"'):
        yield FrameTitle(title_label)
    name_icon_buttons(ui.context.client.layout)


def not_found(message: str) -> None:
    """Content for a project or page the user may not see; the page answers 404."""
    ui.context.client.status_code = 404
    with ui.column().classes("w-full items-center py-16 gap-2"):
        ui.icon("search_off", size="48px").classes("sc-muted")
        ui.label("Not found").classes("text-h6")
        ui.label(message).classes("sc-muted")
        ui.link("Back to your projects", "/projects")
