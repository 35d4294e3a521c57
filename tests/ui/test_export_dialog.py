"""The export dialog: a structure preview with warnings, options that change it, and a download of the file."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User

from components.export_dialog import ExportDialog, open_export_dialog
from tests.exports.conftest import make_film
from tests.exports.readers import check_edl

from .conftest import click_testid, eventually


def _texts(element: ui.element) -> str:
    return " | ".join(getattr(e, "text", "") for e in element.descendants() if getattr(e, "text", ""))


async def _open(user: User, sign_in, make_project, db) -> tuple[ExportDialog, object]:
    account = await sign_in(user, "director")
    film = make_film(db, account, make_project)
    await user.open(f"/projects/{film.project.id}")
    with user.client.content:
        dialog = open_export_dialog(account, film.project.id)
    assert dialog is not None
    return dialog, film


async def test_the_dialog_previews_the_structure_and_its_warnings(user: User, sign_in, make_project, db) -> None:
    dialog, _ = await _open(user, sign_in, make_project, db)
    await user.should_see("Final Cut Pro (FCPXML 1.9) · 24 fps · 1280×720 · 01:00:00:00 → 01:00:07:00 (7 s)")
    preview = _texts(dialog.preview_box)
    assert "6 clips (3 videos, 2 stills, 1 without media) · 1 gap · 5 files" in preview
    assert "NO MEDIA – Gull" in preview and "01:00:03:00 → 01:00:04:00" in preview
    assert "written as placeholders" in preview

    dialog.state["format"] = "edl"
    dialog.state["frame_rate"] = "29.97"
    dialog.state["drop_frame"] = True
    dialog._changed()
    assert "DF" in _texts(dialog.preview_box) and "Resolve does not import stills" in _texts(dialog.preview_box)

    dialog.state["frame_rate"] = "25"
    dialog._changed()
    await user.should_see("Drop-frame timecode exists only for 29.97 and 59.94 fps")
    assert "cannot be made as they are" in _texts(dialog.preview_box)


async def test_download_writes_the_file_the_preview_described(user: User, sign_in, make_project, db) -> None:
    dialog, film = await _open(user, sign_in, make_project, db)
    dialog.state["format"] = "edl"
    dialog._changed()
    click_testid(user, "export-download")
    response = await user.download.next(timeout=5)
    from app.services.project_cut import load_cut

    check_edl(response.content, load_cut(db, film.owner, film.project.id))
    await eventually(lambda: any("Exported moonrise.edl" in str(n) for n in user.notify.messages))

    dialog.state["format"] = "aaf"
    dialog._changed()
    assert not dialog.copy_button.enabled


async def test_export_on_a_scene_starts_with_its_selected_clips(user: User, sign_in, make_project, db) -> None:
    from components.timeline import TimelineEditor

    def scopes() -> list[str]:
        found = user.find(kind=ui.select).elements
        return [e.value for e in found if e.props.get("label") == "What to export"]

    account = await sign_in(user, "director")
    film = make_film(db, account, make_project)
    scene = film.scenes[0]
    scene_scope = f"scene:{scene.id}"
    await user.open(f"/scenes/{scene.id}")
    editor = next(iter(user.find(kind=TimelineEditor).elements))
    click_testid(user, "export-open")
    await eventually(lambda: scopes() == [scene_scope])  # nothing selected: the scene

    chosen = [clip.id for clip in film.clips.values() if clip.scene_id == scene.id][:2]
    editor.select(chosen)
    click_testid(user, "export-open")
    await eventually(lambda: sorted(scopes()) == ["clips", scene_scope])  # the second dialog: the selection
    await user.should_see("Selected clips (2)")
