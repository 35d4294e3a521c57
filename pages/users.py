"""/users: an administrator's accounts, invitation links and the self-registration switch.

Everything here goes through app/services/user_admin, invitations and studio_settings, which refuse
non-administrators themselves; the page only shows a non-administrator that this is not for them.
A generated password or a new invitation link is shown once, in a dialog, with a copy button.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from nicegui import ui

from app.services import invitations, studio_settings, user_admin
from app.services.invitations import InvitationView
from app.services.user_admin import AccountRow
from components import browser_script
from components.confirm import confirm
from components.feedback import success, user_errors
from components.frame import frame
from components.service_call import read
from data.models import User

T = TypeVar("T")

# Copies when the browser allows it (https or localhost); the answer says whether it did.
COPY_SCRIPT = """<script>
window.scCopyText = async (text) => {
  if (!(navigator.clipboard && window.isSecureContext)) return false;
  try { await navigator.clipboard.writeText(text); return true; } catch (error) { return false; }
};
</script>"""
# Each row is its own grid: fixed widths (no `auto`) keep the columns of the heading and the rows aligned.
GRID = "display:grid;grid-template-columns:minmax(9rem,1.2fr) minmax(12rem,1.6fr) 6rem 6rem 9rem 9rem 17rem;"
INVITE_GRID = "display:grid;grid-template-columns:minmax(12rem,1.6fr) 6rem 6rem 9rem 8rem 8rem 12rem;"
STATUS_COLORS = {"pending": "primary", "used": "positive", "expired": "grey-7", "revoked": "negative"}
LIFETIMES = {1: "1 day", 3: "3 days", 7: "7 days", 14: "14 days", 30: "30 days", 90: "90 days"}


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "never"


def page(user: User) -> None:
    with frame("Users", user):
        if not user.is_admin:
            ui.context.client.status_code = 403
            with ui.column().classes("w-full items-center py-16 gap-2"):
                ui.icon("lock", size="48px").classes("sc-muted")
                ui.label("Only administrators manage accounts").classes("text-h6")
                ui.label("Ask an administrator if you need an account changed or a colleague invited.").classes(
                    "sc-muted"
                )
            return
        UsersPage(user)


class UsersPage:
    def __init__(self, admin: User) -> None:
        self.admin = admin
        self.origin = str(ui.context.client.request.base_url).rstrip("/")
        ui.add_body_html(COPY_SCRIPT)
        settings = read(studio_settings.current)

        with ui.card().classes("w-full gap-1"):
            self.registration = ui.switch(
                "Anyone who opens the sign-in page may create an account",
                value=settings.open_registration,
                on_change=lambda e: self.set_registration(bool(e.value)),
            ).props('data-testid="open-registration"')
            ui.label(
                "Off (recommended on a shared network): people join with an invitation link, "
                "or with an account you create here."
            ).classes("sc-muted text-xs")

        with ui.row().classes("w-full items-center gap-2 mt-2"):
            ui.label("Accounts").classes("text-h6")
            ui.space()
            ui.button("New account", icon="person_add", on_click=self.new_account).props(
                'unelevated dense no-caps data-testid="new-account"'
            )
        self.accounts = ui.column().classes("w-full gap-0 sc-scroll-x")  # a wide table scrolls in its own box

        with ui.row().classes("w-full items-center gap-2 mt-4"):
            ui.label("Invitations").classes("text-h6")
            ui.space()
            ui.button("Invite someone", icon="link", on_click=self.new_invitation).props(
                'unelevated dense no-caps data-testid="new-invitation"'
            )
        ui.label(
            "A link creates one account, then stops working; it also stops when it expires or you revoke it."
        ).classes("sc-muted text-xs")
        self.invitations = ui.column().classes("w-full gap-0 sc-scroll-x")
        self.draw_accounts()
        self.draw_invitations()

    # --- actions through the services -------------------------------------------------------------

    def _run(self, action: Callable[..., T], *args: object, **kwargs: object) -> T | None:
        """A service call as the signed-in admin, re-read from the database so a demotion counts at once."""
        with user_errors():
            actor = read(user_admin.stored_actor, self.admin)
            return read(action, actor, *args, **kwargs)
        return None

    def set_registration(self, value: bool) -> None:
        saved = self._run(studio_settings.update, open_registration=value)
        if saved is None:
            self.registration.set_value(not value)
            return
        success("Anyone may now create an account." if saved.open_registration else "Self-registration is off.")

    # --- accounts ---------------------------------------------------------------------------------

    def draw_accounts(self) -> None:
        rows = self._run(user_admin.list_accounts) or []
        self.accounts.clear()
        with self.accounts:
            with ui.element("div").classes("w-full gap-2 px-2 py-1 sc-muted text-xs").style(GRID):
                for heading in ("Username", "Email", "Role", "State", "Created", "Last sign-in", ""):
                    ui.label(heading)
            for row in rows:
                self._account_row(row)

    def _account_row(self, row: AccountRow) -> None:
        line = ui.element("div").classes("w-full gap-2 px-2 py-1 items-center sc-row").style(GRID)
        line.props["data-testid"] = "account-row"
        line.props["data-username"] = row.username
        with line:
            name = ui.label(row.username + (" (you)" if row.id == self.admin.id else "")).classes("truncate")
            name.props["data-testid"] = "account-name"
            ui.label(row.email).classes("truncate sc-muted")
            ui.label("admin" if row.is_admin else "member").props('data-testid="account-role"')
            state = ui.label("active" if row.is_active else "disabled").props('data-testid="account-state"')
            state.classes("text-positive" if row.is_active else "text-negative")
            ui.label(_when(row.created_at)).classes("text-xs")
            ui.label(_when(row.last_login_at)).classes("text-xs")
            with ui.row().classes("gap-1 no-wrap justify-end"):
                ui.button(
                    "Remove admin" if row.is_admin else "Make admin", on_click=lambda r=row: self.toggle_admin(r)
                ).props('flat dense no-caps size=sm data-testid="toggle-admin"')
                ui.button("Disable" if row.is_active else "Enable", on_click=lambda r=row: self.toggle_active(r)).props(
                    'flat dense no-caps size=sm data-testid="toggle-active"'
                )
                ui.button("Reset password", on_click=lambda r=row: self.reset_password(r)).props(
                    'flat dense no-caps size=sm data-testid="reset-password"'
                )

    def toggle_admin(self, row: AccountRow) -> None:
        changed = self._run(user_admin.update_account, row.id, is_admin=not row.is_admin)
        if changed is not None:
            success(f"{row.username} is {'an administrator' if changed.is_admin else 'a member'} now.")
            if row.id == self.admin.id and not changed.is_admin:
                ui.navigate.to("/projects")  # this page is for administrators only
                return
            self.draw_accounts()

    def toggle_active(self, row: AccountRow) -> None:
        def disable() -> None:
            if self._run(user_admin.update_account, row.id, is_active=False) is not None:
                success(f"{row.username} is disabled and was signed out everywhere.")
                if row.id == self.admin.id:
                    ui.navigate.to("/login")
                    return
                self.draw_accounts()

        if not row.is_active:
            if self._run(user_admin.update_account, row.id, is_active=True) is not None:
                success(f"{row.username} can sign in again.")
                self.draw_accounts()
            return
        confirm(
            f"Disable {row.username}?",
            "They are signed out of every browser and script at once and cannot sign in until you enable "
            "the account again. Their projects stay as they are.",
            "Disable",
            disable,
        )

    def reset_password(self, row: AccountRow) -> None:
        def reset() -> None:
            password = self._run(user_admin.reset_password, row.id)
            if password is not None:
                self.draw_accounts()
                self._show_once(
                    f"New password for {row.username}",
                    "Pass it on privately; it is not shown again. They can change it on their Account page.",
                    password,
                    "new-password",
                )

        confirm(
            f"Reset the password of {row.username}?",
            "A new password is generated and shown to you once; the old one stops working and "
            "they are signed out everywhere.",
            "Reset password",
            reset,
        )

    def new_account(self) -> None:
        with ui.dialog() as dialog, ui.card().classes("w-[440px] gap-2"):
            ui.label("New account").classes("text-h6")
            username = ui.input("Username").props('outlined dense autofocus data-testid="account-username"')
            email = ui.input("Email").props('outlined dense type=email data-testid="account-email"')
            password = ui.input("Password (leave empty to generate one)", password=True).props(
                'outlined dense data-testid="account-password"'
            )
            for field in (username, email, password):
                field.classes("w-full")
            make_admin = ui.checkbox("Administrator").props('data-testid="account-admin"')

            def create() -> None:
                made = self._run(
                    user_admin.create_account,
                    username.value or "",
                    email.value or "",
                    password.value or None,
                    is_admin=bool(make_admin.value),
                )
                if made is None:
                    return
                row, generated = made
                dialog.close()
                self.draw_accounts()
                if generated:
                    self._show_once(
                        f"Password for {row.username}",
                        "Pass it on privately; it is not shown again.",
                        generated,
                        "new-password",
                    )
                else:
                    success(f"Account {row.username} created.")

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Create account", on_click=create).props('unelevated data-testid="account-create"')
        dialog.open()

    # --- invitations ------------------------------------------------------------------------------

    def draw_invitations(self) -> None:
        views = self._run(invitations.list_invitations) or []
        self.invitations.clear()
        with self.invitations:
            if not views:
                ui.label("No invitations yet.").classes("sc-muted px-2 py-2").props('data-testid="no-invitations"')
                return
            with ui.element("div").classes("w-full gap-2 px-2 py-1 sc-muted text-xs").style(INVITE_GRID):
                for heading in ("For", "Role", "Status", "Expires", "Made by", "Used by", ""):
                    ui.label(heading)
            for view in views:
                self._invitation_row(view)

    def _invitation_row(self, view: InvitationView) -> None:
        line = ui.element("div").classes("w-full gap-2 px-2 py-1 items-center sc-row").style(INVITE_GRID)
        line.props["data-testid"] = "invitation-row"
        line.props["data-status"] = view.status
        with line:
            ui.label(view.email or "anyone with the link").classes("truncate")
            ui.label("admin" if view.is_admin else "member")
            status = ui.badge(view.status).classes("justify-self-start").props('data-testid="invitation-status"')
            status.props["color"] = STATUS_COLORS.get(view.status, "primary")
            ui.label(_when(view.expires_at)).classes("text-xs")
            ui.label(view.created_by or "—").classes("text-xs truncate")
            ui.label(view.used_by or "—").classes("text-xs truncate")
            with ui.row().classes("gap-1 no-wrap justify-end"):
                if view.link:
                    link = self.origin + view.link
                    ui.button("Copy link", icon="content_copy", on_click=lambda u=link: self.copy(u, show=True)).props(
                        'flat dense no-caps size=sm data-testid="copy-invitation"'
                    )
                if view.status == "pending":
                    ui.button("Revoke", on_click=lambda v=view: self.revoke(v)).props(
                        'flat dense no-caps size=sm color=negative data-testid="revoke-invitation"'
                    )

    def new_invitation(self) -> None:
        with ui.dialog() as dialog, ui.card().classes("w-[440px] gap-2"):
            ui.label("Invite someone").classes("text-h6")
            email = ui.input("Their email (optional: only this address may use the link)").props(
                'outlined dense type=email data-testid="invitation-email"'
            )
            email.classes("w-full")
            lifetime = ui.select(LIFETIMES, value=invitations.DEFAULT_DAYS, label="Link works for").props(
                'outlined dense data-testid="invitation-lifetime"'
            )
            lifetime.classes("w-full")
            make_admin = ui.checkbox("Make them an administrator").props('data-testid="invitation-admin"')

            def create() -> None:
                made = self._run(
                    invitations.create,
                    email=email.value or None,
                    is_admin=bool(make_admin.value),
                    days=int(lifetime.value or invitations.DEFAULT_DAYS),
                )
                if made is None:
                    return
                invitation, token = made
                dialog.close()
                self.draw_invitations()
                self._show_once(
                    "Invitation link",
                    f"It creates one account and works until {_when(invitation.expires_at)} UTC. "
                    "Send it privately: anyone with the link can use it.",
                    self.origin + invitations.INVITE_PATH + token,
                    "invitation-link",
                )

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Create link", on_click=create).props('unelevated data-testid="invitation-create"')
        dialog.open()

    def revoke(self, view: InvitationView) -> None:
        def go() -> None:
            if self._run(invitations.revoke, view.id) is not None:
                success("Invitation revoked: the link no longer works.")
                self.draw_invitations()

        confirm(
            "Revoke this invitation?",
            f"The link for {view.email or 'anyone with it'} stops working at once.",
            "Revoke",
            go,
        )

    # --- shown once -------------------------------------------------------------------------------

    def _show_once(self, title: str, message: str, secret: str, testid: str) -> None:
        with ui.dialog() as dialog, ui.card().classes("w-[520px] gap-2"):
            ui.label(title).classes("text-h6")
            ui.label(message).classes("sc-muted")
            shown = ui.input(value=secret).props("outlined dense readonly").classes("w-full font-mono")
            shown.props["data-testid"] = testid
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Copy", icon="content_copy", on_click=lambda: self.copy(secret)).props(
                    'flat no-caps data-testid="copy-shown"'
                )
                ui.button("Done", on_click=dialog.close).props('unelevated data-testid="shown-done"')
        dialog.open()

    async def copy(self, text: str, *, show: bool = False) -> None:
        """To the clipboard; where the browser refuses (plain http on a LAN), the text to copy by hand."""
        try:
            copied = await browser_script.call("window.scCopyText", text, timeout=3.0)
        except TimeoutError:
            copied = False
        if copied:
            success("Copied to the clipboard.")
            return
        if show:
            self._show_once("Invitation link", "Select the link and copy it.", text, "invitation-link")
        else:
            ui.notify(
                "This browser allows copying only over https or on localhost: select the text and copy it by hand.",
                type="warning",
                position="top",
            )
