"""The generation dialog: prompts with a live composed preview, parameters, presets, and a queued-jobs summary."""

from __future__ import annotations

from nicegui.testing import User
from sqlmodel import select

from app.services import clips, generation_defaults
from data.models import InferenceConfig, ModelEntry, Project

from .conftest import click_menu_item, click_testid, eventually
from .test_clip_generation import MODEL, add_server, jobs_of, open_clip, with_testid


def _value(user: User, testid: str, value: object) -> None:
    with_testid(user, testid)[0].set_value(value)


async def more(user: User) -> None:
    await eventually(lambda: bool(with_testid(user, "generate-more")))
    click_testid(user, "generate-more")
    await user.should_see("What will be sent", retries=30)


def _preview(user: User) -> str:
    box = with_testid(user, "prompt-preview")[0]
    return " | ".join(getattr(e, "text", "") for e in box.descendants() if getattr(e, "text", ""))


async def test_more_opens_the_dialog_and_generate_queues_composed_prompts(
    user: User, sign_in, make_project, db
) -> None:
    add_server(db, models=(MODEL, "other.safetensors"))
    _, project, clip = await open_clip(user, sign_in, make_project, db)
    await more(user)
    assert "a pier at dusk" in _preview(user)

    _value(user, "dialog-image-prompt", "{scene.name} at night, (fog:1.3)")
    await eventually(lambda: "Harbour at night, (fog:1.3)" in _preview(user))
    echo = with_testid(user, "dialog-image-prompt-echo")[0]
    assert {"variable", "weight"} <= {kind for kind, _text in echo.props["spans"]}
    _value(user, "dialog-image-prompt", "a {mood} pier")
    await eventually(lambda: "Unknown variable {mood}" in _preview(user))
    _value(user, "dialog-image-prompt", "a pier for {project.name}")

    _value(user, "dialog-checkpoint", "other.safetensors")
    _value(user, "dialog-steps", 12)
    _value(user, "dialog-seed-policy", "fixed")
    _value(user, "dialog-seed", 500)
    _value(user, "dialog-variations", 2)
    _value(user, "dialog-size", "Square (512×512)")
    click_testid(user, "dialog-generate")

    await eventually(lambda: len(jobs_of(db, clip.id)) == 2)
    jobs = jobs_of(db, clip.id)
    assert [(j.params["prompt"], j.params["seed"], j.checkpoint) for j in jobs] == [
        ("a pier for Night Ferry", 500, "other.safetensors"),
        ("a pier for Night Ferry", 501, "other.safetensors"),
    ]
    assert (jobs[0].params["steps"], jobs[0].params["width"], jobs[0].params["height"]) == (12, 512, 512)
    await eventually(lambda: with_testid(user, "dialog-result")[0].text.startswith("Queued 2 jobs · position #1"))
    # What was submitted is the project's new starting point.
    db.expire_all()
    remembered = generation_defaults.stored_defaults(db.get(Project, project.id).settings)
    assert (remembered.checkpoint, remembered.steps, remembered.seed_policy) == ("other.safetensors", 12, "fixed")


async def test_the_model_list_follows_the_base_model_and_skips_offline_servers(
    user: User, sign_in, make_project, db
) -> None:
    add_server(db, models=(MODEL, "xl.safetensors"))
    offline = add_server(db, "Old GPU", models=("gone.safetensors",))
    offline.status = "offline"
    db.add(offline)
    xl = db.exec(select(ModelEntry).where(ModelEntry.file_name == "xl.safetensors")).one()
    sd = db.exec(select(ModelEntry).where(ModelEntry.file_name == MODEL)).one()
    xl.base_model, sd.base_model = "SDXL 1.0", "SD 1.5"
    db.add_all([xl, sd])
    db.commit()
    await open_clip(user, sign_in, make_project, db)
    await more(user)
    checkpoint = with_testid(user, "dialog-checkpoint")[0]
    assert set(checkpoint.options) == {MODEL, "xl.safetensors"}
    assert checkpoint.options["xl.safetensors"] == "xl.safetensors · Studio GPU"
    _value(user, "dialog-base-model", "SDXL 1.0")
    await eventually(lambda: list(checkpoint.options) == ["xl.safetensors"])
    assert checkpoint.value == "xl.safetensors"


async def test_presets_are_saved_and_applied(user: User, sign_in, make_project, db) -> None:
    add_server(db)
    _, project, _ = await open_clip(user, sign_in, make_project, db)
    await more(user)
    _value(user, "dialog-steps", 9)
    _value(user, "dialog-cfg", 2.5)
    click_testid(user, "preset-save")
    await user.should_see("Save as preset", retries=30)
    _value(user, "preset-name", "Quick look")
    click_testid(user, "preset-save-confirm")
    await user.should_see("Saved preset “Quick look”", retries=30)
    preset = db.exec(select(InferenceConfig).where(InferenceConfig.project_id == project.id)).one()
    assert (preset.name, preset.steps, preset.cfg) == ("Quick look", 9, 2.5)

    _value(user, "dialog-steps", 40)
    _value(user, "preset-select", preset.id)
    click_testid(user, "preset-apply")
    await eventually(lambda: with_testid(user, "dialog-steps")[0].value == 9)


async def test_the_timeline_context_menu_opens_the_dialog(user: User, sign_in, make_project, db) -> None:
    add_server(db)
    await open_clip(user, sign_in, make_project, db)
    click_menu_item(user, "Generation dialog…")
    await user.should_see("What will be sent", retries=30)
    assert with_testid(user, "generation-dialog")


async def test_typing_after_the_clip_was_deleted_elsewhere_says_so(user: User, sign_in, make_project, db) -> None:
    """Another tab deletes the clip while the dialog is open: typing updates the preview with a message, no crash."""
    add_server(db)
    account, _, clip = await open_clip(user, sign_in, make_project, db)
    await more(user)
    assert "a pier at dusk" in _preview(user)
    clips.delete_clips(db, account, [clip.id])

    # Typed before this page hears of the deletion and redraws (the change handler runs at once).
    _value(user, "dialog-image-prompt", "a pier at night")
    gone = "This clip was deleted in another tab: close the dialog."
    assert _preview(user) == gone
    assert with_testid(user, "dialog-result")[0].text == gone
    assert not with_testid(user, "dialog-generate")[0].enabled


async def test_project_settings_edit_the_generation_defaults(user: User, sign_in, make_project, db) -> None:
    add_server(db)
    account = await sign_in(user)
    project = make_project(account, "Moonrise")
    await user.open(f"/projects/{project.id}/settings")
    await user.should_see("Generation defaults")
    _value(user, "defaults-steps", 28)
    _value(user, "defaults-seed-policy", "increment")
    _value(user, "defaults-width", 1001)
    click_testid(user, "save-generation-defaults")
    await user.should_see("Width: use a multiple of 8.", retries=30)
    _value(user, "defaults-width", 1024)
    _value(user, "defaults-checkpoint", MODEL)
    click_testid(user, "save-generation-defaults")
    await user.should_see("Saved the generation defaults", retries=30)
    db.expire_all()
    saved = generation_defaults.stored_defaults(db.get(Project, project.id).settings)
    assert (saved.steps, saved.seed_policy, saved.width, saved.checkpoint) == (28, "increment", 1024, MODEL)
