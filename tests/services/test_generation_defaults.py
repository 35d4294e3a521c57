"""Per-project generation defaults, named presets, seed policies and the models the dialog may offer."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.services import clips, generation, generation_defaults, scenes, workflows
from data.errors import Conflict, Invalid, NotFound
from data.models import ComfyServer, InferenceConfig, ModelEntry, Project
from tests.services.test_generation_service import add_server


@pytest.fixture
def film(db, make_user, make_project):
    owner = make_user("director")
    project = make_project(owner, name="Film")
    return owner, project


def test_defaults_start_empty_and_update_only_what_is_named(db, film) -> None:
    owner, project = film
    assert generation_defaults.generation_defaults(db, owner, project.id).seed_policy == "random"
    generation_defaults.update_generation_defaults(db, owner, project.id, steps=30, sampler="dpmpp_2m")
    saved = generation_defaults.update_generation_defaults(db, owner, project.id, cfg=5.5)
    assert (saved.steps, saved.sampler, saved.cfg) == (30, "dpmpp_2m", 5.5)
    db.expire_all()
    stored = db.get(Project, project.id).settings["generation"]
    assert stored["steps"] == 30 and stored["cfg"] == 5.5


def test_a_bad_value_names_its_field_and_changes_nothing(db, film) -> None:
    owner, project = film
    generation_defaults.update_generation_defaults(db, owner, project.id, steps=25)
    with pytest.raises(Invalid) as caught:
        generation_defaults.update_generation_defaults(db, owner, project.id, steps=40, width=1001)
    assert caught.value.field == "width"
    with pytest.raises(Invalid, match="Unknown generation setting"):
        generation_defaults.update_generation_defaults(db, owner, project.id, colour="red")
    db.expire_all()
    assert generation_defaults.generation_defaults(db, owner, project.id).steps == 25


def test_other_peoples_projects_are_not_found(db, film, make_user) -> None:
    _, project = film
    stranger = make_user("stranger")
    with pytest.raises(NotFound):
        generation_defaults.update_generation_defaults(db, stranger, project.id, steps=10)
    with pytest.raises(NotFound):
        generation_defaults.list_presets(db, stranger, project.id)


def test_presets_save_apply_and_delete(db, film, make_user) -> None:
    owner, project = film
    values = {"steps": 12, "cfg": 2.0, "sampler": "lcm", "loras": [{"name": "ink.safetensors", "strength": 0.6}]}
    preset = generation_defaults.save_preset(db, owner, project.id, "  Fast   draft ", values)
    assert preset.name == "Fast draft" and preset.steps == 12 and preset.project_id == project.id
    assert preset.params["loras"] == [{"name": "ink.safetensors", "strength": 0.6}]

    applied = generation_defaults.apply_preset(db, owner, preset.id)
    assert (applied.steps, applied.cfg, applied.sampler) == (12, 2.0, "lcm")
    assert applied.width is None and applied.scheduler is None  # never set: the workflow's own stays
    assert applied.loras[0].strength == 0.6

    with pytest.raises(Conflict):
        generation_defaults.save_preset(db, owner, project.id, "Fast draft", values)
    again = generation_defaults.save_preset(db, owner, project.id, "Fast draft", {"steps": 8}, replace=True)
    assert again.id == preset.id and again.version == 2
    assert generation_defaults.apply_preset(db, owner, preset.id).cfg is None

    with pytest.raises(NotFound):
        generation_defaults.apply_preset(db, make_user("other"), preset.id)
    generation_defaults.delete_preset(db, owner, preset.id)
    assert db.get(InferenceConfig, preset.id) is None
    assert generation_defaults.list_presets(db, owner, project.id) == []


def test_a_preset_needs_a_name_and_valid_values(db, film) -> None:
    owner, project = film
    with pytest.raises(Invalid, match="name"):
        generation_defaults.save_preset(db, owner, project.id, "   ", {})
    with pytest.raises(Invalid) as caught:
        generation_defaults.save_preset(db, owner, project.id, "Bad", {"steps": 0})
    assert caught.value.field == "steps"


def test_models_offered_are_on_enabled_online_servers_filtered_by_base_model(db) -> None:
    add_server(db, "gpu-1", ["sdxl.safetensors", "sd15.safetensors", "mystery.safetensors"])
    offline = add_server(db, "gpu-2", ["only-offline.safetensors"])
    offline.status = "offline"
    db.add(offline)
    for file_name, base in (("sdxl.safetensors", "SDXL 1.0"), ("sd15.safetensors", "SD 1.5")):
        entry = db.exec(select(ModelEntry).where(ModelEntry.file_name == file_name)).one()
        entry.base_model = base
        db.add(entry)
    db.commit()

    everything = generation_defaults.available_models(db, "checkpoint")
    assert everything == {
        "mystery.safetensors": ["gpu-1"],
        "sd15.safetensors": ["gpu-1"],
        "sdxl.safetensors": ["gpu-1"],
    }
    assert list(generation_defaults.available_models(db, "checkpoint", "SDXL 1.0")) == [
        "mystery.safetensors",  # base model unknown: kept rather than hidden
        "sdxl.safetensors",
    ]
    assert generation_defaults.base_models(db) == ["SD 1.5", "SDXL 1.0"]
    server = db.exec(select(ComfyServer).where(ComfyServer.name == "gpu-1")).one()
    server.enabled = False
    db.add(server)
    db.commit()
    assert generation_defaults.available_models(db, "checkpoint") == {}


@pytest.fixture
def clip_setup(db, film):
    owner, project = film
    scene = scenes.create_scene(db, owner, project.id, "One")
    clip = clips.create_clip(db, owner, scene.id, start=0.0, duration=2.0, image_prompt="a road")
    workflows.ensure_builtin_workflows(db)
    add_server(db, "gpu-1")
    return owner, project, clip


def _seeds(made) -> list[int]:
    return [job.params["seed"] for job in made]


def test_increment_policy_continues_the_projects_sequence(db, clip_setup) -> None:
    owner, _, clip = clip_setup
    first = generation.create_generation(
        db, owner, clip.id, generation.parse_request(checkpoint="a", seed=100, seed_policy="increment", variations=2)
    )
    second = generation.create_generation(
        db, owner, clip.id, generation.parse_request(checkpoint="a", seed_policy="increment", variations=3)
    )
    assert _seeds(first) == [100, 101]
    assert _seeds(second) == [102, 103, 104]


def test_fixed_policy_starts_from_the_same_seed_each_time_and_needs_one(db, clip_setup) -> None:
    owner, _, clip = clip_setup
    for _ in range(2):
        made = generation.create_generation(
            db, owner, clip.id, generation.parse_request(checkpoint="a", seed=7, seed_policy="fixed", variations=2)
        )
        assert _seeds(made) == [7, 8]
    with pytest.raises(Invalid) as caught:
        generation.create_generation(db, owner, clip.id, generation.parse_request(checkpoint="a", seed_policy="fixed"))
    assert caught.value.field == "seed"


def test_random_policy_ignores_a_given_seed(db, clip_setup) -> None:
    owner, _, clip = clip_setup
    made = generation.create_generation(
        db, owner, clip.id, generation.parse_request(checkpoint="a", seed=5, seed_policy="random", variations=4)
    )
    assert len(set(_seeds(made))) == 4 and _seeds(made) != [5, 6, 7, 8]
