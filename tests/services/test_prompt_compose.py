"""Prompts are composed in one place: variables filled, unknown ones refused by name, contributors added in order."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.services import clips, generation, prompt_compose, scenes, workflows
from app.services.prompt_compose import Contributor, Span
from data.errors import Invalid
from data.models import GenerationJob
from tests.services.test_generation_service import add_server


@pytest.fixture
def story(db, make_user, make_project):
    owner = make_user("director")
    project = make_project(owner, name="Harbour")
    scenes.create_scene(db, owner, project.id, "Prologue")
    scene = scenes.create_scene(db, owner, project.id, "Night shift")
    clips.create_clip(db, owner, scene.id, start=4.0, duration=1.0, label="late")
    clip = clips.create_clip(db, owner, scene.id, start=0.0, duration=2.0, label="Wide", image_prompt="a pier")
    return owner, project, scene, clip


@pytest.fixture
def no_contributors():
    saved = prompt_compose.contributors()
    for item in saved:
        prompt_compose.unregister(item.name)
    yield
    for item in saved:
        prompt_compose.register(item)


def test_variables_are_filled_from_scene_clip_and_project(db, story, no_contributors) -> None:
    clip = story[3]
    text = "{project.name}: {scene.name} #{scene.index}, shot {clip.index} ({clip.label})"
    assert prompt_compose.compose_for_clip(db, clip, text) == "Harbour: Night shift #2, shot 1 (Wide)"


def test_unknown_variables_are_refused_by_name(db, story, no_contributors) -> None:
    _, project, scene, clip = story
    with pytest.raises(Invalid) as caught:
        prompt_compose.compose("a {scene.title} and {mood}", scene, clip, project, clip_index=1)
    assert "{mood}" in caught.value.message and "{scene.title}" in caught.value.message
    assert "{scene.name}" in caught.value.message  # says what would work


def test_dynamic_prompt_choices_and_weights_pass_through(db, story, no_contributors) -> None:
    _, project, scene, clip = story
    text = "{red|blue} boat, (fog:1.2)"
    assert prompt_compose.compose(text, scene, clip, project, clip_index=1) == text


def test_a_variable_without_its_entity_says_so(db, story, no_contributors) -> None:
    _, project, _, _ = story
    with pytest.raises(Invalid, match="needs a clip"):
        prompt_compose.compose("shot {clip.index}", None, None, project)


def test_contributors_add_fragments_in_order_around_the_clip_text(db, story, no_contributors) -> None:
    _, project, scene, clip = story
    prompt_compose.register(Contributor("style", lambda c, t: ["film grain"] if t == "image" else []))
    prompt_compose.register(Contributor("character", lambda c, t: ["Mara, red coat"], position="before"))
    prompt_compose.register(Contributor("scene tag", lambda c, t: ["{scene.name} light"]))
    try:
        image = prompt_compose.compose("a pier", scene, clip, project, clip_index=1)
        video = prompt_compose.compose("waves", scene, clip, project, target="video", clip_index=1)
        parts = prompt_compose.compose_parts("a pier", scene, clip, project, clip_index=1)
    finally:
        for name in ("style", "character", "scene tag"):
            prompt_compose.unregister(name)
    assert image == "Mara, red coat, a pier, film grain, Night shift light"
    assert video == "Mara, red coat, waves, Night shift light"
    assert [part.source for part in parts] == ["character", "clip", "style", "scene tag"]


def test_highlight_spans_mark_weights_loras_and_variables() -> None:
    text = "a (misty harbour:1.3), <lora:ink:0.6> {scene.name} {nope}"
    spans = prompt_compose.highlight_spans(text)
    assert [(text[s.start : s.end], s.kind) for s in spans] == [
        ("(misty harbour:1.3)", "weight"),
        ("<lora:ink:0.6>", "lora"),
        ("{scene.name}", "variable"),
        ("{nope}", "unknown-variable"),
    ]
    assert prompt_compose.highlight_spans("(plain parentheses)") == []
    assert prompt_compose.highlight_spans("({scene.name}:1.1)") == [Span(0, 18, "weight")]


def test_generation_sends_the_composed_prompts(db, story, no_contributors) -> None:
    owner, _, _, clip = story
    workflows.ensure_builtin_workflows(db)
    add_server(db, "gpu-1")
    request = generation.parse_request(
        checkpoint="a.safetensors", prompt="{scene.name}, (dawn:1.2)", negative_prompt="no {project.name}"
    )
    job = generation.create_generation(db, owner, clip.id, request)[0]
    assert job.params["prompt"] == "Night shift, (dawn:1.2)"
    assert job.params["negative_prompt"] == "no Harbour"
    assert job.resolved_graph["6"]["inputs"]["text"] == "Night shift, (dawn:1.2)"


def test_generation_refuses_an_unknown_variable_and_queues_nothing(db, story, no_contributors) -> None:
    owner, _, _, clip = story
    workflows.ensure_builtin_workflows(db)
    add_server(db, "gpu-1")
    clips.update_clip(db, owner, clip.id, image_prompt="a {place}")
    with pytest.raises(Invalid, match=r"\{place\}"):
        generation.create_generation(db, owner, clip.id, generation.parse_request(checkpoint="a.safetensors"))
    assert db.exec(select(GenerationJob)).all() == []
