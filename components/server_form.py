"""Add or edit a server; "Test connection" says what is wrong before anything is saved."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from app.services import server_health, servers
from app.services.servers import MAX_JOBS_LIMIT, ServerPublic
from components.feedback import log
from data.errors import DomainError
from data.models import User

from .service_call import read

FIELD = "outlined dense hide-bottom-space"


def _phrase(error: DomainError) -> str:
    return error.message


class ServerDialog:
    def __init__(self, user: User, server: ServerPublic | None, on_saved: Callable[[int, bool], None]) -> None:
        self.user, self.server, self.on_saved = user, server, on_saved
        editing = server is not None
        with ui.dialog() as self.dialog, ui.card().classes("w-[520px] gap-2").props('data-testid="server-dialog"'):
            ui.label(f"Edit “{server.name}”" if server else "Add a ComfyUI server").classes("text-h6")
            self.name = (
                ui.input("Name", value=server.name if server else "", placeholder="gpu-1")
                .props(FIELD)
                .classes("w-full")
                .mark("server-name")
            )
            self.url = (
                ui.input("URL", value=server.url if server else "", placeholder="http://gpu-1:8188")
                .props(FIELD)
                .classes("w-full")
                .mark("server-url")
            )
            key_hint = (server.api_key_hint or "set") if server and server.has_api_key else None
            self.api_key = (
                ui.input(
                    "API key (optional)" if not key_hint else f"API key (stored: {key_hint}; blank keeps it)",
                    password=True,
                    password_toggle_button=True,
                )
                .props(FIELD)
                .classes("w-full")
                .mark("server-api-key")
            )
            self.clear_key = ui.checkbox("Remove the stored API key").props("dense").mark("server-clear-key")
            self.clear_key.set_visibility(bool(key_hint))
            with (
                ui.expansion("RunPod serverless endpoint", value=bool(server and server.runpod_endpoint_id))
                .props("dense")
                .classes("w-full")
            ):
                ui.label(
                    "For a RunPod endpoint, leave the URL empty (RunPod's API is used) or give its API base."
                ).classes("sc-muted text-xs")
                self.endpoint = (
                    ui.input("RunPod endpoint id", value=(server.runpod_endpoint_id or "") if server else "")
                    .props(FIELD)
                    .classes("w-full")
                    .mark("server-runpod-endpoint")
                )
                self.runpod_key = (
                    ui.input(
                        "RunPod API key" + (" (blank keeps the stored one)" if editing else ""),
                        password=True,
                        password_toggle_button=True,
                    )
                    .props(FIELD)
                    .classes("w-full")
                    .mark("server-runpod-key")
                )
            with ui.row().classes("w-full items-center gap-4"):
                self.max_jobs = (
                    ui.number(
                        "Max jobs at once",
                        value=server.max_jobs if server else 2,
                        min=1,
                        max=MAX_JOBS_LIMIT,
                        step=1,
                        format="%d",
                    )
                    .props(FIELD)
                    .classes("w-40")
                    .mark("server-max-jobs")
                )
                self.enabled = (
                    ui.switch("Enabled", value=server.enabled if server else True)
                    .props("dense")
                    .mark("server-enabled-field")
                )
            self.test_result = (
                ui.label("").classes("text-xs whitespace-pre-line").props('data-testid="dialog-test-result"')
            )
            self.error = ui.label("").classes("text-negative text-sm").props('data-testid="server-form-error"')
            with ui.row().classes("w-full items-center gap-2"):
                self.test_button = ui.button("Test connection", icon="network_check", on_click=self.test).props(
                    'flat dense data-testid="dialog-test"'
                )
                ui.space()
                ui.button("Cancel", on_click=self.dialog.close).props("flat dense")
                ui.button("Save" if editing else "Add server", icon="save", on_click=self.save).props(
                    'unelevated dense data-testid="server-save"'
                )
        self.dialog.open()

    def _max_jobs(self) -> int | float | None:
        value = self.max_jobs.value
        return int(value) if isinstance(value, float) and value.is_integer() else value

    async def test(self) -> None:
        self.error.set_text("")
        self.test_result.set_text("")
        self.test_button.props("loading")
        try:
            result = await server_health.test_draft(
                self.user,
                self.url.value,
                None if self.clear_key.value else self.api_key.value,
                self.endpoint.value,
                self.runpod_key.value,
                server_id=None if self.server is None or self.clear_key.value else self.server.id,
            )
        except DomainError as failure:
            self.error.set_text(_phrase(failure))
            return
        except Exception:  # never a trace in the dialog; the log has it
            log.exception("connection test from the server dialog failed")
            self.error.set_text("The test could not run; check the server log and try again.")
            return
        finally:
            self.test_button.props(remove="loading")
        self.test_result.set_text(("✓ " if result.ok else "✗ ") + result.message)
        self.test_result.classes(
            replace="text-xs whitespace-pre-line text-positive"
            if result.ok
            else "text-xs whitespace-pre-line text-negative"
        )

    def _values(self) -> dict[str, object]:
        values: dict[str, object] = {
            "name": self.name.value or "",
            "url": self.url.value or None,
            "runpod_endpoint_id": self.endpoint.value or "",
            "max_jobs": self._max_jobs(),
            "enabled": bool(self.enabled.value),
        }
        if self.clear_key.value:
            values["api_key"] = ""
        elif self.api_key.value:
            values["api_key"] = self.api_key.value
        if self.runpod_key.value:
            values["runpod_api_key"] = self.runpod_key.value
        return values

    def save(self) -> None:
        self.error.set_text("")
        values = self._values()
        try:
            if values["max_jobs"] is None:
                raise DomainError("max_jobs: enter how many jobs the server may run at once (1–16).", field="max_jobs")
            if self.server is None:
                created = read(servers.create_server, self.user, servers.parse_create(**values))
                server_id, is_new = created.id, True
            else:
                if not values["url"]:
                    values.pop("url")  # a RunPod endpoint keeps its API base
                read(servers.update_server, self.user, self.server.id, servers.parse_update(**values))
                server_id, is_new = self.server.id, False
        except DomainError as failure:
            self.error.set_text(_phrase(failure))
            return
        self.dialog.close()
        self.on_saved(server_id, is_new)  # type: ignore[arg-type]  # the server was saved just above: its id is set


def open_server_dialog(user: User, server: ServerPublic | None, on_saved: Callable[[int, bool], None]) -> ServerDialog:
    return ServerDialog(user, server, on_saved)
