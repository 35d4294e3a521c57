"""Choosing the picture a generation starts from: upload one, or pick an upload or any image result of the project.

One picker per picture a workflow loads (the start image of image-to-image, the target and the face of a face
swap); the generation dialog and the batch dialog both draw it through the shared settings form. The choice is
written into the form's state as an InputImageRef (`{"upload_id": …}` or `{"item_id": …}`), which is exactly
what the REST request takes. File names and labels reach the browser as text and property values only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import events, ui

from app.services import input_images
from app.services.input_images import PictureChoice
from data.errors import DomainError
from data.models import User

from .service_call import read, read_off_loop

ACCEPT = ".png,.jpg,.jpeg,.webp,image/png,image/jpeg,image/webp"
FIELD = "outlined dense options-dense hide-bottom-space"


def _key(ref: dict[str, Any] | None) -> str | None:
    if not ref:
        return None
    if ref.get("upload_id"):
        return f"upload:{ref['upload_id']}"
    if ref.get("item_id"):
        return f"item:{ref['item_id']}"
    return None


def load_choices(user: User, project_id: int) -> list[PictureChoice]:
    return read(input_images.picture_choices, user, project_id)


class InputImagePicker:
    """Draws itself where it is created; `state[key]` holds the chosen reference (None: nothing chosen yet)."""

    def __init__(
        self,
        state: dict[str, Any],
        key: str,
        label: str,
        *,
        user: User,
        project_id: int,
        choices: list[PictureChoice],
        testid: str,
        on_uploaded: Callable[[], None] = lambda: None,
    ) -> None:
        self.state, self.key, self.user, self.project_id = state, key, user, project_id
        self.on_uploaded = on_uploaded
        self.by_key: dict[str, PictureChoice] = {}
        with ui.column().classes("w-full gap-1") as self.container:
            self.container.props["data-testid"] = testid
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                self.thumbnail = ui.image().classes("w-14 h-14 flex-none rounded-borders bg-grey-9")
                self.thumbnail.props["fit"] = "contain"
                self.thumbnail.props["data-testid"] = f"{testid}-thumbnail"
                self.select = ui.select({}, label=label, with_input=True, on_change=self._chosen)
                self.select.props(FIELD).classes("grow")
                self.select.props["data-testid"] = f"{testid}-select"
                browse = ui.button("Upload", icon="upload", on_click=self._browse)
                browse.props("flat dense no-caps").classes("flex-none")
                browse.props["data-testid"] = f"{testid}-browse"
            # Quasar's uploader does the sending; it stays hidden behind the button (its list is not needed).
            self.upload = ui.upload(
                auto_upload=True,
                max_file_size=input_images.MAX_UPLOAD_BYTES,
                on_upload=self._uploaded,
                on_rejected=lambda: self._say(
                    f"The file is larger than {input_images.MAX_UPLOAD_BYTES // 2**20} MB: upload a smaller picture."
                ),
            ).classes("hidden")
            self.upload.props["accept"] = ACCEPT
            self.upload.props["data-testid"] = f"{testid}-upload"
            self.message = ui.label("").classes("text-xs text-negative")
            self.message.props["data-testid"] = f"{testid}-message"
            self.message.set_visibility(False)
        self.set_choices(choices)

    def _browse(self) -> None:
        self.upload.run_method("pickFiles")

    def set_choices(self, choices: list[PictureChoice]) -> None:
        self.by_key = {key: choice for choice in choices if (key := _key(choice.ref)) is not None}
        current = _key(self.state.get(self.key))
        self.select.set_options({key: choice.label for key, choice in self.by_key.items()})
        self.select.set_value(current if current in self.by_key else None)
        self._show()

    def set_visibility(self, visible: bool) -> None:
        self.container.set_visibility(visible)

    def _chosen(self, event: events.ValueChangeEventArguments) -> None:
        choice = self.by_key.get(event.value) if event.value else None
        self.state[self.key] = dict(choice.ref) if choice is not None else None
        self._show()

    def _show(self) -> None:
        choice = self.by_key.get(self.select.value) if self.select.value else None
        self.thumbnail.set_source(choice.url if choice is not None else "")
        self.thumbnail.set_visibility(choice is not None)

    def _say(self, message: str) -> None:
        self.message.set_text(message)
        self.message.set_visibility(bool(message))

    async def _uploaded(self, event: events.UploadEventArguments) -> None:
        data = await event.file.read()
        name = event.file.name
        self.upload.reset()
        try:
            stored = await read_off_loop(input_images.store_upload, self.user, self.project_id, name, data)
        except DomainError as error:
            self._say(error.message)
            return
        if stored is None:  # the server is stopping
            return
        self._say("")
        self.state[self.key] = {"upload_id": stored.id}
        self.set_choices(await read_off_loop(input_images.picture_choices, self.user, self.project_id) or [])
        self.on_uploaded()
