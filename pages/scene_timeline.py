"""/scenes/{id}: one scene's timeline — drag, trim, split, merge, gaps, copy/paste, undo — and the clip inspector."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from nicegui import app, ui
from nicegui.events import GenericEventArguments

from app.services import clips, projects, scenes, timeline_edit
from app.services.editor_settings import editor_settings, update_editor_settings
from app.services.timeline_history import History
from app.services.timeline_view import clip_cards, neighbours
from components import clip_inspector
from components.a11y import name_dialog
from components.batch_dialog import BatchDialog
from components.clip_generation import ClipGeneration
from components.clip_inspector import ClipForm, ClipInspector
from components.confirm import confirm
from components.export_dialog import open_export_dialog
from components.feedback import user_errors
from components.frame import frame, not_found
from components.live_updates import ProjectWatch
from components.service_call import call, read
from components.timeline import TimelineEditor, format_position, normalize_clip
from data.errors import NotFound
from data.frames import seconds_to_frames
from data.models import Clip, Scene, User
from data.words import counted

MIN_VISIBLE_SECONDS = 10
# After the inspector is redrawn: the keyboard moves into its first field (tried for a moment while it renders).
FOCUS_INSPECTOR_JS = """
(() => {
  let tries = 0;
  const focus = () => {
    const inspector = document.querySelector('[data-testid="clip-inspector"]');
    const field = inspector && inspector.querySelector("input, textarea");
    if (field) field.focus();
    else if (tries++ < 20) setTimeout(focus, 50);
  };
  setTimeout(focus, 30);
})();
"""
T = TypeVar("T")


def page(user: User, scene_id: int, clip: int | None = None) -> None:
    """`?clip=<id>` opens the scene with that clip selected (a notification's Open, a shared link)."""
    try:
        scene = read(scenes.get_scene, user, scene_id)
        project = read(projects.get_project, user, scene.project_id)
        cards = read(clip_cards, user, scene_id)
        before, after = read(neighbours, user, scene_id)
    except NotFound as error:
        with frame("Not found", user):
            not_found(error.message)
        return
    settings = editor_settings(project)
    fps = project.fps
    history = History()
    generation: ClipGeneration  # built with the inspector below; the handlers above run only after that

    def scene_frames(current: list[dict[str, Any]]) -> int:
        end = max((c["start_frame"] + c["duration_frames"] for c in current), default=0)
        return max(end + seconds_to_frames(2, fps), seconds_to_frames(MIN_VISIBLE_SECONDS, fps))

    def refresh_cards(force: bool = False) -> bool:
        """The cards as stored (results, job states, another tab's edits); the widget only if they changed,
        unless forced: after an edit the widget still shows the dragged position until it gets the clips."""
        try:
            current = read(clip_cards, user, scene_id)
        except NotFound:
            ui.navigate.to(f"/projects/{project.id}")
            return False
        editor.set_scene_frames(scene_frames(current))
        if force or [normalize_clip(c) for c in current] != editor.clips:
            editor.set_clips(current)
        return True

    def reload() -> None:
        if refresh_cards(force=True):
            toolbar_state()
            show_inspector()

    def reload_from_elsewhere() -> None:
        """Another tab, the API or a landing result changed the project: what is being typed stays (the
        inspector takes the stored clip in without a redraw), and otherwise redraw only the results."""
        if not refresh_cards():
            return
        toolbar_state()
        show_inspector()

    def show_inspector() -> None:
        """The selected clip in the inspector. The same clip as shown takes the stored row in place (typing
        goes on); another clip first saves the shown one — or, when that cannot be saved, keeps its text
        aside (parked) to show again when that clip is selected."""
        ids = selected()
        view: ClipInspector | None = shown["view"]
        if view is not None and ids == [view.form.clip_id]:
            try:
                clip = read(clips.get_clip, user, view.form.clip_id)
            except NotFound:
                clip = None
            if clip is not None:
                view.arrived(clip)
                generation.refresh_gallery()
                return
        leave_shown()
        inspector.refresh()

    def leave_shown() -> None:
        view: ClipInspector | None = shown["view"]
        shown["view"] = None
        if view is None or view.save_now():
            return
        parked[view.form.clip_id] = view.form
        name = view.form.draft.label or f"Clip {view.form.clip_id}"
        ui.notify(
            f"{name} is not saved ({view.form.error or 'changed elsewhere'}). Its text is kept: select the clip "
            "again to finish.",
            type="warning",
            multi_line=True,
        )

    def store_edit(label: str, work: Callable[..., Clip], /, *args: Any, **kwargs: Any) -> Clip:
        """An inspector save: one transaction and one undo step. Runs in a worker thread: no UI here."""
        return read(history.tracked, [scene_id], label, work, *args, **kwargs)

    def after_store() -> None:
        if refresh_cards(force=True):
            toolbar_state()

    def look_up(work: Callable[..., T], *args: Any) -> T | None:
        """A read for an action; if what it names is gone meanwhile, say so, redraw, and return None."""
        found = call(work, *args)
        if found is None:
            reload()
        return found

    def edit(
        label: str, work: Callable[..., T], /, *args: Any, then: Callable[[T], object] | None = None, **kwargs: Any
    ) -> bool:
        """Every timeline edit goes through here: one transaction, one undo step, one redraw.

        `then` gets the edit's result before the redraw (to select what the edit made)."""
        done = False
        with user_errors():
            result = read(history.tracked, [scene_id], label, work, *args, **kwargs)
            if then is not None:
                then(result)
            done = True
        reload()  # after a refusal, the widget snaps back to what is stored
        return done

    def ask_overlap(apply: Callable[[clips.OverlapPolicy], None]) -> None:
        """On a drop that overlaps: keep it (flagged), push what follows, or trim the neighbour."""
        with ui.dialog() as dialog, ui.card().classes("w-[420px]"):
            ui.label("The clip overlaps its neighbour").classes("text-h6")
            ui.label("Choose how to land it:").classes("sc-muted")

            def choose(policy: clips.OverlapPolicy) -> None:
                dialog.close()
                apply(policy)

            def cancel() -> None:
                dialog.close()
                reload()

            with ui.column().classes("w-full gap-1"):
                ui.button(
                    "Push following clips (ripple)",
                    icon="keyboard_double_arrow_right",
                    on_click=lambda: choose("ripple"),
                ).props('flat align=left data-testid="overlap-ripple"')
                ui.button("Trim the neighbour", icon="content_cut", on_click=lambda: choose("trim")).props(
                    'flat align=left data-testid="overlap-trim"'
                )
                ui.button(
                    "Allow the overlap (marked with a warning)", icon="warning_amber", on_click=lambda: choose("allow")
                ).props('flat align=left data-testid="overlap-allow"')
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=cancel).props('flat data-testid="overlap-cancel"')
        dialog.on("hide", lambda: None)
        dialog.open()

    def on_move(e: GenericEventArguments) -> None:
        ids, delta = list(e.args["clip_ids"]), int(e.args["delta_frames"])
        label = "Move clip" if len(ids) == 1 else f"Move {len(ids)} clips"

        def apply(policy: clips.OverlapPolicy) -> None:
            edit(label, clips.move_clips, user, ids, delta, policy)

        if delta == 0:
            return
        ask_overlap(apply) if e.args.get("overlaps") else apply("allow")

    def on_trim(e: GenericEventArguments) -> None:
        clip_id = int(e.args["clip_id"])

        def apply(policy: clips.OverlapPolicy) -> None:
            edit(
                "Trim clip",
                clips.update_clip,
                user,
                clip_id,
                start_frame=int(e.args["start_frame"]),
                duration_frames=int(e.args["duration_frames"]),
                overlap=policy,
            )

        ask_overlap(apply) if e.args.get("overlaps") else apply("allow")

    def selected() -> list[int]:
        return list(editor.selected)

    def add_clip() -> None:
        edit("Add clip", clips.create_clip, user, scene_id, then=lambda made: editor.select([made.id]))  # type: ignore[list-item]  # a stored row's id is never None

    def split() -> None:
        playhead = editor.playhead_frame
        targets = [c for c in editor.clips if c["start_frame"] < playhead < c["start_frame"] + c["duration_frames"]]
        chosen = [c for c in targets if c["id"] in selected()] or targets
        if not chosen:
            ui.notify("Put the playhead inside a clip to split it there.", type="warning")
            return
        edit("Split clip", timeline_edit.split_clip, user, chosen[0]["id"], at_frame=playhead)

    def merge() -> None:
        ids = selected()
        if len(ids) < 2:
            ui.notify("Select two or more adjacent clips to merge (Shift+click).", type="warning")
            return
        results = look_up(clips.selected_results, user, ids)
        if results is None:
            return
        if len(results) <= 1:
            edit("Merge clips", timeline_edit.merge_clips, user, ids)
            return
        with ui.dialog() as dialog, ui.card().classes("w-[420px]"):
            ui.label("Which chosen result does the merged clip keep?").classes("text-h6")
            labels = {c["id"]: c["label"] for c in editor.clips}
            choice = ui.radio(
                {r.id: f"{labels.get(r.clip_id, r.clip_id)} — {r.kind}" for r in results}, value=results[0].id
            )

            def go() -> None:
                dialog.close()
                edit("Merge clips", timeline_edit.merge_clips, user, ids, keep_result_id=choice.value)

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Merge", on_click=go).props("unelevated")
        dialog.open()

    def delete() -> None:
        ids = selected()
        if not ids:
            return
        summary = look_up(clips.clip_deletion_summary, user, ids)
        if summary is None:
            return
        if summary.gallery_items:  # results cannot come back with undo: say so first
            confirm(
                "Delete clips with results?",
                f"This removes {summary.describe()}. Undo brings the clips back, not their results.",
                "Delete",
                lambda: edit("Delete clips", clips.delete_clips, user, ids),
            )
        else:
            edit("Delete clip" if len(ids) == 1 else f"Delete {len(ids)} clips", clips.delete_clips, user, ids)

    def copy(cut: bool = False) -> None:
        ids = selected()
        if not ids:
            return
        payload = look_up(timeline_edit.copy_clips, user, ids)
        if payload is None:
            return
        app.storage.user["clipboard"] = payload
        ui.notify(f"Copied {counted(len(ids), 'clip')}", position="bottom")
        if cut:
            delete()  # the same confirmation as Delete when results would go with the clips

    def paste() -> None:
        payload = app.storage.user.get("clipboard")
        if not payload:
            ui.notify("Nothing to paste: copy clips first (Ctrl+C).", type="warning")
            return
        edit(
            "Paste clips",
            timeline_edit.paste_clips,
            user,
            scene_id,
            payload,
            editor.playhead_frame,
            then=lambda pasted: editor.select([c.id for c in pasted]),  # type: ignore[misc]  # a stored row's id is never None
        )

    def duplicate() -> None:
        ids = selected()
        if not ids:
            return
        chosen = [c for c in editor.clips if c["id"] in ids]
        end = max(c["start_frame"] + c["duration_frames"] for c in chosen)
        payload = look_up(timeline_edit.copy_clips, user, ids)
        if payload is None:
            return
        edit("Duplicate clips", timeline_edit.paste_clips, user, scene_id, payload, end, "ripple")

    def insert_gap() -> None:
        frames = seconds_to_frames(gap_seconds.value or 1, fps)
        edit("Insert gap", timeline_edit.insert_gap, user, scene_id, editor.playhead_frame, frames)

    def close_gap() -> None:
        edit("Close gap", timeline_edit.close_gap, user, scene_id, editor.playhead_frame)

    def step_history(direction: str) -> None:
        """Undo or redo one edit; an edit that can no longer be applied says why and is dropped."""
        label = call(history.undo if direction == "undo" else history.redo, user)  # a refusal is said, then None
        if label:
            ui.notify(f"{'Undid' if direction == 'undo' else 'Redid'}: {label}", position="bottom")
        reload()

    def undo() -> None:
        step_history("undo")

    def redo() -> None:
        step_history("redo")

    def set_snap(value: bool) -> None:
        editor.set_snap(value)
        read(update_editor_settings, user, project.id, snap=value)  # type: ignore[arg-type]  # a stored row's id is never None

    def set_ruler(value: str) -> None:
        editor.set_ruler(value)  # type: ignore[arg-type]  # the ruler toggle offers only the Literal's values
        read(update_editor_settings, user, project.id, ruler=value)  # type: ignore[arg-type]  # a stored row's id is never None
        toolbar_state()

    keys: dict[str, Callable[[], None]] = {
        "delete": delete,
        "copy": copy,
        "cut": lambda: copy(cut=True),
        "paste": paste,
        "duplicate": duplicate,
        "split": split,
        "undo": undo,
        "redo": redo,
        "generate": lambda: generation.generate(),
    }

    def on_key(e: GenericEventArguments) -> None:
        key = e.args.get("key")
        if key == "toggle_snap":
            set_snap(bool(e.args.get("snap", not editor.snap)))
            snap_switch.set_value(editor.snap)
        elif key in keys:
            keys[key]()

    def go_to(neighbour: Scene | None) -> None:
        if neighbour is not None:
            ui.navigate.to(f"/scenes/{neighbour.id}")

    clip_inspector.install()
    crumbs = [("Projects", "/projects"), (project.name, f"/projects/{project.id}")]
    with frame(scene.name, user, breadcrumbs=crumbs):
        with ui.row().classes("w-full items-center gap-1 no-wrap"):
            previous = ui.button(icon="chevron_left", on_click=lambda: go_to(before)).props("flat dense round")
            previous.props["aria-label"] = f"Previous scene: {before.name}" if before else "No previous scene"
            previous.tooltip(f"Previous scene: {before.name}" if before else "First scene")
            previous.set_enabled(before is not None)
            ui.label(scene.name).classes("text-h6").props('data-testid="scene-title"')
            following = ui.button(icon="chevron_right", on_click=lambda: go_to(after)).props("flat dense round")
            following.props["aria-label"] = f"Next scene: {after.name}" if after else "No next scene"
            following.tooltip(f"Next scene: {after.name}" if after else "Last scene")
            following.set_enabled(after is not None)
            ui.space()
            ui.button(
                "Generate all",
                icon="auto_awesome_motion",
                on_click=lambda: name_dialog(
                    BatchDialog(user, project.id, scene_id=scene_id).dialog,  # type: ignore[arg-type]  # a stored row's id is never None
                    "Generate as a batch",
                ),
            ).props('flat dense no-caps data-testid="generate-all"').tooltip(
                "Generate this scene's clips as one batch (choose other clips too)"
            )
            ui.button(
                "Export",
                icon="ios_share",
                on_click=lambda: open_export_dialog(
                    user,
                    project.id,  # type: ignore[arg-type]  # a stored row's id is never None
                    scene_id=None if selected() else scene_id,
                    clip_ids=selected() or None,
                ),
            ).props('flat dense no-caps data-testid="export-open"').tooltip(
                "Export this scene (or the selected clips) for an editor"
            )
            ui.link("Whole-project timeline", f"/projects/{project.id}/timeline").classes("text-xs")

        with ui.row().classes("w-full items-center gap-1 no-wrap"):

            def tool(icon: str, tip: str, action: Callable[[], None], testid: str) -> ui.button:
                button = ui.button(icon=icon, on_click=action).props("flat dense size=sm").tooltip(tip)
                button.props.update({"data-testid": testid, "aria-label": tip})
                return button

            ui.button("Add clip", icon="add", on_click=add_clip).props(
                'unelevated dense size=sm data-testid="timeline-add-clip"'
            )
            ui.separator().props("vertical")
            undo_button = tool("undo", "Undo (Ctrl+Z)", undo, "undo")
            redo_button = tool("redo", "Redo (Ctrl+Shift+Z)", redo, "redo")
            ui.separator().props("vertical")
            tool("content_cut", "Split at the playhead (S)", split, "split")
            tool("merge", "Merge selected adjacent clips", merge, "merge")
            tool("content_copy", "Copy (Ctrl+C)", copy, "copy")
            tool("content_paste", "Paste at the playhead (Ctrl+V)", paste, "paste")
            tool("delete", "Delete selected (Del)", delete, "delete-clips")
            ui.separator().props("vertical")
            tool("space_bar", "Insert a gap at the playhead", insert_gap, "insert-gap")
            gap_seconds = (
                ui.number(value=1, min=0.04, step=0.5, format="%.2f")
                .props('dense borderless suffix="s" style="width:56px"')
                .tooltip("Gap length (seconds)")
            )
            tool("compress", "Close the gap at the playhead", close_gap, "close-gap")
            ui.space()

            readout = (
                ui.label("")
                .classes("text-xs font-mono w-24 text-right sc-muted")
                .props('data-testid="playhead-readout"')
                .tooltip("Playhead")
            )
            snap_switch = (
                ui.switch("Snap", value=settings.snap, on_change=lambda e: set_snap(e.value))
                .props("dense")
                .tooltip("Snap to frames, clip edges and the playhead (hold Shift to bypass)")
            )
            ruler_select = (
                ui.select(
                    {"seconds": "Seconds", "timecode": "Timecode", "frames": "Frames"},
                    value=settings.ruler,
                    on_change=lambda e: set_ruler(e.value),
                )
                .props("dense options-dense borderless")
                .classes("w-32")
                .tooltip("Ruler units")
            )
            with ruler_select.add_slot("prepend"):
                ui.icon("straighten", size="xs")
            tool("zoom_out", "Zoom out (Ctrl+wheel)", lambda: editor.zoom_out(), "zoom-out")
            tool("zoom_in", "Zoom in (Ctrl+wheel)", lambda: editor.zoom_in(), "zoom-in")
            tool("fit_screen", "Whole scene", lambda: editor.zoom_to_fit(), "zoom-fit")

        with ui.element("div").classes("w-full") as track_area:
            editor = TimelineEditor(
                cards,
                fps=fps,
                scene_frames=scene_frames(cards),
                ruler=settings.ruler,  # type: ignore[arg-type]  # updates refuse any unit outside the Literal
                snap=settings.snap,
            ).classes("w-full")
        context_frame = {"frame": 0}

        def focus_inspector() -> None:
            """Enter on a clip (or the menu's item): its inspector, with the keyboard in its first field."""
            show_inspector()
            ui.run_javascript(FOCUS_INSPECTOR_JS)

        def paste_here() -> None:
            editor.set_playhead(context_frame["frame"])
            paste()

        with track_area, ui.context_menu().props('data-testid="clip-context-menu"'):
            # Right-click selects the clip under the pointer first (the widget does), so these act on it.
            # Each item shows its key, so the menu teaches the shortcuts (the keys work with the track focused).
            for text, action, keys_text in (
                ("Edit in the inspector", focus_inspector, "Enter"),
                (
                    "Generation dialog…",
                    lambda: generation.open_dialog(selected()[0]) if len(selected()) == 1 else None,
                    "",
                ),
                ("Split at the playhead", split, "S"),
                ("Duplicate", duplicate, "Ctrl+D"),
                ("Copy", copy, "Ctrl+C"),
                ("Cut", lambda: copy(cut=True), "Ctrl+X"),
                ("Paste here", paste_here, "Ctrl+V"),
                ("Merge selected", merge, ""),
                ("Delete", delete, "Del"),
            ):
                if text == "Delete":
                    ui.separator()
                with ui.menu_item("", action).props("dense").classes("row items-center no-wrap gap-6") as item:
                    ui.label(text).classes("grow text-negative" if text == "Delete" else "grow")
                    if keys_text:
                        ui.label(keys_text).classes("sc-kbd")
                        item.props["aria-keyshortcuts"] = keys_text.replace("Ctrl", "Control").replace("Del", "Delete")
        editor.on("context", lambda e: context_frame.update(frame=int(e.args.get("frame") or 0)))

        def toolbar_state() -> None:
            undo_button.set_enabled(history.can_undo)
            redo_button.set_enabled(history.can_redo)
            readout.set_text(format_position(editor.playhead_frame, fps, editor.ruler))

        toolbar_state()
        editor.on("move", on_move)
        editor.on("trim", on_trim)
        editor.on("key", on_key)
        editor.on("playhead", lambda: toolbar_state())
        editor.on("select", lambda: show_inspector())

        def open_clip(e: GenericEventArguments) -> None:
            editor.select([int(e.args["clip_id"])])
            focus_inspector()

        editor.on("open", open_clip)
        if not cards:
            ui.label(
                "This scene has no clips yet: “Add clip” puts one at the first free position; then drag "
                "it, trim its edges, and write its prompts below."
            ).classes("sc-muted")

        generation = ClipGeneration(user, project.id, refresh_cards)  # type: ignore[arg-type]  # a stored row's id is never None
        shown: dict[str, Any] = {"view": None}
        parked: dict[int, ClipForm] = {}  # drafts that could not be saved when their clip was left

        @ui.refreshable
        def inspector() -> None:
            ids = selected()
            shown["view"] = None
            if len(ids) != 1:
                generation.detach()
                text = (
                    "Select a clip to edit its label, timing and prompts; Shift+click or drag a box to select several."
                    if not ids
                    else f"{len(ids)} clips selected: drag to move them together, "
                    "Delete to remove, Merge if they are adjacent."
                )
                ui.label(text).classes("sc-muted text-xs").props('data-testid="inspector-hint"')
                return
            try:
                clip = read(clips.get_clip, user, ids[0])
            except NotFound:
                generation.detach()
                return
            clip_id: int = clip.id  # type: ignore[assignment]  # a stored row's id is never None
            form = parked.pop(clip_id, None) or ClipForm(clip, fps)
            view = ClipInspector(
                user,
                form,
                store=lambda changes, expected: store_edit(
                    "Edit clip", clips.update_clip, user, clip_id, expected_updated_at=expected, **changes
                ),
                restore=lambda n: store_edit("Restore prompts", clips.restore_prompts, user, clip_id, n),
                after_store=after_store,
            )
            view.arrived(clip)  # a parked draft meets the clip as stored now
            shown["view"] = view
            generation.build(clip_id, view.save_now)

        if clip is not None and any(card["id"] == clip for card in cards):
            editor.select([clip])
        with ui.card().classes("w-full"):
            inspector()

        ProjectWatch(project.id, reload_from_elsewhere)

        def tab_gone() -> None:
            """Leaving the page (a link, closing the tab) saves what is typed, as far as the server has it."""
            view: ClipInspector | None = shown["view"]
            if view is not None:
                view.save_now()

        ui.context.client.on_disconnect(tab_gone)
