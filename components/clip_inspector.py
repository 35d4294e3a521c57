"""The selected clip's fields — label, colour, timing and both prompts — saved by themselves, never lost.

A director types all day: an edit saves itself after a short pause in typing (AUTOSAVE_PAUSE), when the
field loses focus, when another clip is selected and when the page is left; Ctrl+Enter saves at once, also
from inside a field. The state is always on show (saved / unsaved / saving / not saved: why), and a browser
asked to leave while something is not saved asks first (the state element is what its beforeunload reads).

A save names the clip version it started from (`expected_updated_at`): when someone else saved the clip in
between, the service refuses (Stale) and nothing is overwritten. A change from elsewhere never replaces
what is being typed either: fields the user did not touch follow it; a touched field keeps the local text
and the inspector says "changed elsewhere" with Keep mine / Take theirs.

Two baselines make that work: `sent` is what this inspector last saved or loaded (the draft differs from
it = unsaved), `stored` is the newest stored row it knows (a newer row differs from it = changed elsewhere).
They differ when the service normalises a value (a label's trailing space, seconds to whole frames), which
must count neither as unsaved nor as a change from elsewhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, Literal

from nicegui import run, ui

from app.services import prompt_history
from data.errors import DomainError, Stale
from data.frames import frames_to_seconds, seconds_to_frames
from data.models import Clip, User

from .feedback import attempt
from .service_call import call, read

AUTOSAVE_PAUSE = 0.8
TEXT_FIELDS = ("label", "image_prompt", "video_prompt", "notes")
FIELD_NAMES = {
    "label": "label",
    "color": "colour",
    "start": "start",
    "duration": "duration",
    "image_prompt": "image prompt",
    "video_prompt": "video prompt",
    "notes": "notes",
}
SaveState = Literal["saved", "unsaved", "saving", "failed", "conflict"]
STATE_LOOK: dict[str, tuple[str, str]] = {  # icon, text; the colour comes from the CSS by data-save-state
    "saved": ("cloud_done", "Saved"),
    "unsaved": ("edit", "Unsaved changes"),
    "saving": ("sync", "Saving…"),
    "failed": ("error", "Not saved"),
    "conflict": ("call_split", "Changed elsewhere"),
}
# Read by the browser before it leaves the page: any inspector that is not saved makes it ask first.
LEAVE_GUARD = """<script>
window.addEventListener('beforeunload', (event) => {
  if (document.querySelector('[data-save-state]:not([data-save-state="saved"])')) {
    event.preventDefault();
    event.returnValue = '';
  }
});
</script>"""
CSS = """
.sc-conflict { border: 1px solid rgba(255, 180, 60, .55); background: rgba(255, 180, 60, .10); border-radius: 6px; }
.sc-save-state { font-size: 12px; white-space: nowrap; }
.sc-save-state[data-save-state="saved"] { color: var(--q-positive); }
.sc-save-state[data-save-state="unsaved"], .sc-save-state[data-save-state="conflict"] { color: var(--q-warning); }
.sc-save-state[data-save-state="saving"] { color: var(--q-info); }
.sc-save-state[data-save-state="failed"] { color: var(--q-negative); }
"""


def install() -> None:
    """Once per page, while it is first built: a script added later (with the inspector) would never run."""
    ui.add_css(CSS)
    ui.add_head_html(LEAVE_GUARD)


@dataclass
class ClipDraft:
    label: str
    color: str
    start: float
    duration: float
    image_prompt: str
    video_prompt: str
    notes: str

    @classmethod
    def of(cls, clip: Clip, fps: float) -> ClipDraft:
        return cls(
            clip.label,
            clip.color,
            frames_to_seconds(clip.start_frame, fps),
            frames_to_seconds(clip.duration_frames, fps),
            clip.image_prompt,
            clip.video_prompt,
            clip.notes,
        )


FIELDS = tuple(f.name for f in fields(ClipDraft))


class ClipForm:
    """The inspector's unsaved state, kept apart from the widgets so it survives a redraw or a clip switch."""

    def __init__(self, clip: Clip, fps: float) -> None:
        self.clip_id: int = clip.id  # type: ignore[assignment]  # a stored row's id is never None
        self.fps = fps
        self.stored = ClipDraft.of(clip, fps)
        self.sent = replace(self.stored)
        self.draft = replace(self.stored)
        self.base_updated_at: datetime = clip.updated_at
        self.state: SaveState = "saved"
        self.error = ""
        self.theirs: ClipDraft | None = None
        self.conflicts: list[str] = []

    def changes(self) -> dict[str, Any]:
        """Only fields that changed are sent, so a prompt edit never nudges the clip's timing."""
        return {key: getattr(self.draft, key) for key in FIELDS if getattr(self.draft, key) != getattr(self.sent, key)}

    @property
    def dirty(self) -> bool:
        return bool(self.changes())

    def saved(self, clip: Clip, sent: ClipDraft) -> None:
        self.sent, self.stored, self.base_updated_at = sent, ClipDraft.of(clip, self.fps), clip.updated_at
        self.error = ""

    def arrived(self, clip: Clip) -> list[str]:
        """A newer stored row: untouched fields follow it, and the touched fields it contradicts are returned."""
        theirs = ClipDraft.of(clip, self.fps)
        conflicts = []
        for key in FIELDS:
            mine, before, new = getattr(self.draft, key), getattr(self.stored, key), getattr(theirs, key)
            if new == before:
                continue
            if mine == getattr(self.sent, key):  # untouched here: take the new value
                setattr(self.draft, key, new)
                setattr(self.sent, key, new)
            elif new == mine:  # the same change made elsewhere
                setattr(self.sent, key, new)
            else:
                conflicts.append(key)
        if conflicts:
            self.theirs, self.conflicts = theirs, conflicts
            self.state = "conflict"
            return conflicts
        self.stored, self.base_updated_at = theirs, clip.updated_at
        return []

    def keep_mine(self, clip: Clip) -> None:
        self.stored, self.base_updated_at = ClipDraft.of(clip, self.fps), clip.updated_at
        for key in self.conflicts:
            setattr(self.sent, key, getattr(self.stored, key))
        self.theirs, self.conflicts = None, []
        self.state = "unsaved" if self.dirty else "saved"

    def take_theirs(self, clip: Clip) -> None:
        self.stored, self.base_updated_at = ClipDraft.of(clip, self.fps), clip.updated_at
        for key in self.conflicts:
            setattr(self.draft, key, getattr(self.stored, key))
            setattr(self.sent, key, getattr(self.stored, key))
        self.theirs, self.conflicts = None, []
        self.state = "unsaved" if self.dirty else "saved"


# store(label, changes, expected_updated_at) saves through the page (one undo step) and returns the clip;
# it runs in a worker thread, so it must not touch the UI. restore(n) does the same for a history version.
Store = Callable[[dict[str, Any], datetime | None], Clip]
Restore = Callable[[int], Clip]


class ClipInspector:
    """The fields of one clip and their saving; `after_store` redraws the timeline cards (UI thread)."""

    def __init__(
        self,
        user: User,
        form: ClipForm,
        store: Store,
        restore: Restore,
        after_store: Callable[[], None],
    ) -> None:
        self.user = user
        self.form = form
        self.store = store
        self.restore_version = restore
        self.after_store = after_store
        self.last_input = 0.0
        self._saving = False
        self._again = False
        self._applying = False
        self.steps: list[tuple[str, str]] = []
        self.step_at = -1
        self._stepping = False
        self._loaded_steps = False
        self._build()
        self._show_state()

    # --- building ---------------------------------------------------------------------------------

    def _build(self) -> None:
        draft = self.form.draft
        with ui.column().classes("w-full gap-2").props('data-testid="clip-inspector"'):
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                self.header = ui.label(self._header_text()).classes("text-subtitle2 grow")
                self.header.props["data-testid"] = "inspector-header"
                self.state_row = ui.row().classes("items-center gap-1 no-wrap sc-save-state")
                with self.state_row:
                    self.state_icon = ui.icon("cloud_done", size="xs")
                    self.state_text = ui.label("")
                self.state_row.props["data-testid"] = "save-state"
                self.undo_button = self._tool(
                    "undo", "Undo prompt change (earlier saved wording)", self.undo, "prompt-undo"
                )
                self.redo_button = self._tool("redo", "Redo prompt change", self.redo, "prompt-redo")
                self._tool("history", "Prompt history", self.open_history, "prompt-history")
            self.conflict_box = ui.column().classes("w-full gap-1 p-2 sc-conflict").props('data-testid="conflict"')
            self.error_label = ui.label("").classes("text-negative text-xs").props('data-testid="save-error"')
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                self.inputs: dict[str, Any] = {}
                self.inputs["label"] = ui.input("Label", value=draft.label).props("outlined dense").classes("grow")
                self.inputs["color"] = (
                    ui.color_input("Colour", value=draft.color).props("outlined dense").classes("w-36")
                )
                self.inputs["start"] = (
                    ui.number("Start (s)", value=draft.start, min=0, step=0.5, format="%.3f")
                    .props("outlined dense")
                    .classes("w-28")
                )
                self.inputs["duration"] = (
                    ui.number("Duration (s)", value=draft.duration, min=0.001, step=0.5, format="%.3f")
                    .props("outlined dense")
                    .classes("w-28")
                )
            with ui.row().classes("w-full gap-2 no-wrap"):
                self.inputs["image_prompt"] = (
                    ui.textarea("Image prompt", value=draft.image_prompt)
                    .props('outlined dense autogrow data-testid="image-prompt"')
                    .classes("w-1/2")
                )
                self.inputs["video_prompt"] = (
                    ui.textarea("Video prompt", value=draft.video_prompt)
                    .props('outlined dense autogrow data-testid="video-prompt"')
                    .classes("w-1/2")
                )
            with ui.row().classes("w-full items-start gap-2 no-wrap"):
                self.inputs["notes"] = (
                    ui.textarea("Notes", value=draft.notes).props("outlined dense autogrow").classes("grow")
                )
                ui.button("Save clip", icon="save", on_click=self.save).props(
                    'unelevated data-testid="save-clip"'
                ).tooltip("Save now (Ctrl+Enter, also inside a field); edits also save by themselves")
        for key, element in self.inputs.items():
            self.inputs[key].props["data-field"] = key
            element.on_value_change(lambda e, key=key: self._typed(key, e.value))
            element.on("blur", self.save)
            element.on("keydown.ctrl.enter", self.save)
            element.on("keydown.meta.enter", self.save)
        self.inputs["label"].props["data-testid"] = "clip-label"
        # Outside the fields (a button or the track focused), Ctrl+Enter saves as well.
        ui.keyboard(lambda e: self.save() if e.action.keydown and e.key == "Enter" and e.modifiers.ctrl else None)
        ui.timer(0.2, self._tick)

    def _tool(self, icon: str, tip: str, action: Callable[[], object], testid: str) -> ui.button:
        button = ui.button(icon=icon, on_click=action).props("flat dense round size=sm").tooltip(tip)
        button.props.update({"data-testid": testid, "aria-label": tip})
        return button

    def _header_text(self) -> str:
        draft = self.form.draft
        frames = seconds_to_frames(float(draft.duration or 0), self.form.fps) if draft.duration else 0
        start = float(draft.start or 0)
        return f"{draft.label or f'Clip {self.form.clip_id}'} · starts {start:g} s · {frames} frames"

    # --- typing -----------------------------------------------------------------------------------

    def _typed(self, key: str, value: Any) -> None:
        if self._applying:
            return
        if key in ("start", "duration"):
            value = float(value or 0)
        elif key in TEXT_FIELDS or key == "color":
            value = str(value or "")
        setattr(self.form.draft, key, value)
        self.last_input = time.monotonic()
        if key in ("image_prompt", "video_prompt"):
            self._stepping = False
        if self.form.state != "conflict":
            self.form.state = "unsaved" if self.form.dirty else "saved"
            if self.form.state == "saved":
                self.form.error = ""
        self.header.set_text(self._header_text())
        self._show_state()

    def _apply_draft(self) -> None:
        """The widgets show the draft (after a change from elsewhere, take theirs, undo or restore)."""
        self._applying = True
        try:
            for key, element in self.inputs.items():
                value = getattr(self.form.draft, key)
                if element.value != value:
                    element.set_value(value)
        finally:
            self._applying = False
        self.header.set_text(self._header_text())

    async def _tick(self) -> None:
        if self.form.state == "unsaved" and time.monotonic() - self.last_input >= AUTOSAVE_PAUSE:
            await self.save()

    # --- saving -----------------------------------------------------------------------------------

    async def save(self) -> bool:
        """Save what changed now (autosave, blur, Ctrl+Enter, the button). False: not saved (see the state)."""
        if self.form.state == "conflict":
            return False
        if self._saving:
            self._again = True
            return False
        changes = self.form.changes()
        if not changes:
            self._set_state("saved")
            return True
        sent = replace(self.form.draft)
        self._saving = True
        self._set_state("saving")
        try:
            stored: Clip | None = await run.io_bound(self.store, changes, self.form.base_updated_at)
        except Stale:
            self._saving = False
            return self._stale() and await self.save()
        except DomainError as error:
            self._saving = False
            self._failed(error.message)
            return False
        self._saving = False
        if stored is None:  # the worker pool is shutting down with the app
            return False
        self._stored(stored, sent)
        if self._again:
            self._again = False
            if self.form.dirty:
                return await self.save()
        return True

    def save_now(self) -> bool:
        """The same, synchronously: before another clip is shown, before Generate, when the tab goes away."""
        for _attempt in range(2):
            if self.form.state == "conflict":
                return False
            changes = self.form.changes()
            if not changes:
                self._set_state("saved")
                return True
            sent = replace(self.form.draft)
            try:
                clip = self.store(changes, self.form.base_updated_at)
            except Stale:
                if not self._stale():
                    return False
                continue
            except DomainError as error:
                self._failed(error.message)
                return False
            self._stored(clip, sent)
            return True
        return False

    def _stored(self, clip: Clip, sent: ClipDraft) -> None:
        self.form.saved(clip, sent)
        if not self._stepping:
            self._note_prompts()
        self._set_state("unsaved" if self.form.dirty else "saved")
        self.after_store()

    def _failed(self, message: str) -> None:
        self.form.error = message
        self._set_state("failed")

    def _stale(self) -> bool:
        """The clip changed since this edit started: read it; True when the edit can go on top of it."""
        clip = self._read()
        if clip is None:
            self._failed("This clip was deleted elsewhere; your text is still here to copy.")
            return False
        self.arrived(clip)
        return self.form.state != "conflict"

    def _read(self) -> Clip | None:
        from app.services import clips

        try:
            return read(clips.get_clip, self.user, self.form.clip_id)
        except DomainError:
            return None

    # --- changes from elsewhere -------------------------------------------------------------------

    def arrived(self, clip: Clip) -> None:
        """A stored row newer than the one this inspector knows (another tab, user, or the timeline's undo)."""
        if clip.updated_at == self.form.base_updated_at and self.form.state != "conflict":
            return
        if self.form.state == "conflict":  # still undecided: compare with the newest row again
            self.form.state = "unsaved"
            self.form.theirs, self.form.conflicts = None, []
        self.form.arrived(clip)
        self._apply_draft()
        if self.form.state != "conflict":
            self.form.state = "unsaved" if self.form.dirty else "saved"
            self._note_prompts()
        self._show_state()

    def keep_mine(self) -> None:
        clip = self._read()
        if clip is None:
            return
        self.form.keep_mine(clip)
        self._show_state()
        self.last_input = 0.0  # saves on the next tick

    def take_theirs(self) -> None:
        clip = self._read()
        if clip is None:
            return
        self.form.take_theirs(clip)
        self._note_prompts()
        self._apply_draft()
        self._show_state()

    # --- state on show ----------------------------------------------------------------------------

    def _set_state(self, state: SaveState) -> None:
        self.form.state = state
        if state != "failed":
            self.form.error = ""
        self._show_state()

    def _show_state(self) -> None:
        state = self.form.state
        icon, text = STATE_LOOK[state]
        self.state_icon.name = icon
        self.state_icon.update()
        if state == "failed":
            text = "Not saved — the text stays here"
        self.state_text.set_text(text)
        self.state_row.props["data-save-state"] = state
        self.state_row.update()
        self.error_label.set_text(self.form.error)
        self.error_label.set_visibility(bool(self.form.error))
        self._show_conflict()
        self.undo_button.set_enabled(self._can_undo())
        self.redo_button.set_enabled(self.step_at < len(self.steps) - 1)

    def _show_conflict(self) -> None:
        self.conflict_box.clear()
        theirs = self.form.theirs
        self.conflict_box.set_visibility(self.form.state == "conflict" and theirs is not None)
        if self.form.state != "conflict" or theirs is None:
            return
        with self.conflict_box:
            names = ", ".join(FIELD_NAMES[key] for key in self.form.conflicts)
            ui.label(
                f"Changed elsewhere: someone saved another {names} while you were typing. "
                "Your text is kept in the field until you choose."
            ).classes("text-sm")
            for key in self.form.conflicts:
                with ui.row().classes("w-full gap-1 no-wrap items-start"):
                    ui.label(f"Theirs ({FIELD_NAMES[key]}):").classes("text-xs sc-muted whitespace-nowrap")
                    ui.label(str(getattr(theirs, key))).classes("text-xs whitespace-pre-wrap").props(
                        'data-testid="conflict-theirs"'
                    )
            with ui.row().classes("gap-2"):
                ui.button("Keep mine", icon="person", on_click=self.keep_mine).props(
                    'unelevated dense no-caps data-testid="keep-mine"'
                )
                ui.button("Take theirs", icon="groups", on_click=self.take_theirs).props(
                    'outline dense no-caps data-testid="take-theirs"'
                )

    # --- undo, redo and the history ----------------------------------------------------------------

    def _load_steps(self) -> None:
        """The saved wordings so far (oldest first), so undo reaches back past this visit. Read at the first
        undo, not when the clip is shown: switching clips stays quick."""
        if self._loaded_steps:
            return
        self._loaded_steps = True
        try:
            versions = read(prompt_history.list_history, self.user, self.form.clip_id)[:50]
        except DomainError:
            versions = []
        self.steps = [(v.image_prompt, v.video_prompt) for v in reversed(versions)]
        current = (self.form.stored.image_prompt, self.form.stored.video_prompt)
        if not self.steps or self.steps[-1] != current:
            self.steps.append(current)
        self.step_at = len(self.steps) - 1

    def _note_prompts(self) -> None:
        """A new stored wording (saved here or taken from elsewhere) becomes the newest undo step."""
        if not self._loaded_steps:
            return  # the history read at the first undo has it
        prompts = (self.form.stored.image_prompt, self.form.stored.video_prompt)
        if not self.steps or prompts != self.steps[self.step_at]:
            del self.steps[self.step_at + 1 :]
            self.steps.append(prompts)
            self.step_at = len(self.steps) - 1

    def _draft_prompts(self) -> tuple[str, str]:
        return (self.form.draft.image_prompt, self.form.draft.video_prompt)

    def _can_undo(self) -> bool:
        if not self._loaded_steps:
            return True  # not read yet: the first press reads the history
        return self.step_at > 0 or (bool(self.steps) and self._draft_prompts() != self.steps[self.step_at])

    def _step_to(self, at: int) -> None:
        if self.form.state == "conflict":
            return
        self.step_at = at
        self.form.draft.image_prompt, self.form.draft.video_prompt = self.steps[at]
        self._stepping = True
        self._apply_draft()
        self.form.state = "unsaved" if self.form.dirty else "saved"
        self.last_input = 0.0
        self._show_state()

    def undo(self) -> None:
        """Back to the last saved wording if there is unsaved typing, else to the one before it."""
        self._load_steps()
        if not self.steps:
            return
        if self._draft_prompts() != self.steps[self.step_at]:
            self._step_to(self.step_at)
        elif self.step_at > 0:
            self._step_to(self.step_at - 1)

    def redo(self) -> None:
        self._load_steps()
        if self.step_at < len(self.steps) - 1:
            self._step_to(self.step_at + 1)

    def open_history(self) -> None:
        versions = call(prompt_history.list_history, self.user, self.form.clip_id)
        if versions is None:
            return
        with ui.dialog() as dialog, ui.card().classes("w-[760px] max-w-full"):
            dialog.props["data-testid"] = "prompt-history-dialog"
            ui.label("Prompt history").classes("text-h6")
            if not versions:
                ui.label("No saved prompts yet: every saved wording of the prompts shows up here.").classes("sc-muted")
            with ui.scroll_area().classes("w-full h-[60vh]"):
                for version in versions:
                    with ui.card().tight().classes("w-full p-2 mb-2") as card:
                        card.props["data-version"] = str(version.n)
                        with ui.row().classes("w-full items-center gap-2 no-wrap"):
                            ui.label(f"#{version.n}").classes("font-mono text-sm")
                            ui.label(version.saved_at.strftime("%Y-%m-%d %H:%M:%S UTC")).classes("text-xs sc-muted")
                            ui.label(f"by {version.saved_by}" if version.saved_by else "before history").classes(
                                "text-xs sc-muted"
                            )
                            ui.space()
                            button = ui.button(
                                "Restore", icon="restore", on_click=lambda n=version.n: self.restore(n, dialog)
                            ).props("flat dense no-caps")
                            button.props["data-testid"] = f"restore-{version.n}"
                        for name, text in (("Image", version.image_prompt), ("Video", version.video_prompt)):
                            with ui.row().classes("w-full gap-1 no-wrap items-start"):
                                ui.label(f"{name}:").classes("text-xs sc-muted w-12 shrink-0")
                                ui.label(text or "—").classes("text-xs whitespace-pre-wrap break-words")
            with ui.row().classes("w-full justify-end"):
                ui.button("Close", on_click=dialog.close).props("flat")
        dialog.open()

    def restore(self, n: int, dialog: ui.dialog) -> None:
        """Unsaved typing is saved first, so it is in the history too and the restore can be undone."""
        if not self.save_now():
            ui.notify("Save or resolve this clip's text first, then restore.", type="warning")
            return
        clip = attempt(lambda: self.restore_version(n))
        if clip is None:
            return
        dialog.close()
        self.form.draft.image_prompt, self.form.draft.video_prompt = clip.image_prompt, clip.video_prompt
        self._applying = True
        self._stored(clip, replace(self.form.draft))
        self._applying = False
        self._apply_draft()
        self._show_state()
        ui.notify(f"Restored version {n} of the prompts", position="bottom")
