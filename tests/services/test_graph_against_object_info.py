"""Graphs checked against a server's /object_info the way ComfyUI 0.3.64 validates a prompt.

The definitions are the captured answer of a real ComfyUI; each refused graph below was refused by a real
ComfyUI with the message quoted in its test, after it had passed the shape check alone.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest

from app.integrations.comfyui import node_specs
from app.services import generation, workflow_graph, workflows
from data.errors import Invalid
from data.models import ComfyServer, ServerNodeSpecs

CAPTURE = Path(__file__).resolve().parents[1] / "fakes" / "captures" / "object_info_full.json"


@pytest.fixture(scope="module")
def specs() -> dict:
    return node_specs(json.loads(CAPTURE.read_text()))


def _builtin(name: str) -> workflows.BuiltinDefinition:
    return next(d for d in workflows.builtin_definitions() if d.name == name)


@pytest.mark.parametrize("name", ["Text to image", "Image to image", "Image to video"])
def test_the_built_ins_pass_a_real_servers_definitions(specs: dict, name: str) -> None:
    definition = _builtin(name)
    assert workflow_graph.spec_problems(definition.graph, specs) == []


def test_a_missing_required_input_names_the_node_and_input(specs: dict) -> None:
    # ComfyUI: "Required input is missing: sigma"
    graph = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "a.png"}},
        "2": {"class_type": "ImageBlur", "inputs": {"image": ["1", 0], "blur_radius": 2}, "_meta": {"title": "Soften"}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "x"}},
    }
    assert workflow_graph.spec_problems(graph, specs) == ["“Soften” (node 2): the required input sigma is missing"]


def test_a_link_from_an_output_of_another_type_is_named(specs: dict) -> None:
    # ComfyUI: "Return type mismatch between linked nodes (LATENT vs IMAGE)"
    graph = copy.deepcopy(_builtin("Image to image").graph)
    graph["8"]["inputs"]["samples"] = ["10", 0]  # VAEDecode's samples from LoadImage's IMAGE
    problems = workflow_graph.spec_problems(graph, specs)
    assert problems == [
        "“VAE Decode” (node 8): input samples takes LATENT but is linked to a IMAGE output of “Init image” (node 10)"
    ]


def test_numbers_out_of_range_and_choices_not_listed(specs: dict) -> None:
    graph = copy.deepcopy(_builtin("Text to image").graph)
    graph["3"]["inputs"]["steps"] = 0
    graph["3"]["inputs"]["sampler_name"] = "euler_fast"
    graph["5"]["inputs"]["width"] = 99999
    problems = workflow_graph.spec_problems(graph, specs)
    assert "“KSampler” (node 3): input steps is 0, below the minimum 1" in problems
    assert any(
        p.startswith("“KSampler” (node 3): input sampler_name is “euler_fast”, which is not one of") for p in problems
    )
    assert any(p.startswith("“Empty Latent Image” (node 5): input width is 99999, above the maximum") for p in problems)
    # Values each job sets are not held against the template.
    unchecked = workflow_graph.bound_inputs(_builtin("Text to image").bindings)
    assert len(workflow_graph.spec_problems(graph, specs, unchecked=unchecked)) == 0


def _server_with(db, name: str, specs: dict) -> None:
    server = ComfyServer(name=name, base_url=f"http://{name}:8188")
    db.add(server)
    db.flush()
    db.add(ServerNodeSpecs(server_id=server.id, specs=specs))


def test_random_seeds_stay_below_a_24_bit_seed_input(db, specs: dict) -> None:
    # ComfyUI: "Value 2022195351 bigger than max of 16777215"
    narrow = copy.deepcopy(specs)
    narrow["KSampler"]["required"]["seed"]["max"] = 16777215
    _server_with(db, "gpu-24", narrow)
    _server_with(db, "gpu-64", specs)
    db.commit()
    workflows.ensure_builtin_workflows(db)
    template = workflows.default_workflow(db, "image")
    assert generation.random_seed_limit(db, [template]) == 16777215
    random.seed(7)
    request = generation.parse_request(checkpoint="a", variations=16, seed_policy="random")
    seeds = generation._seeds(db, 1, request, [template])
    assert all(0 <= seed <= 16777215 for seed in seeds)
    graph = copy.deepcopy(template.graph)
    graph["3"]["inputs"]["seed"] = 2022195351
    assert workflow_graph.spec_problems(graph, narrow) == [
        "“KSampler” (node 3): input seed is 2022195351, above the maximum 16777215"
    ]


def test_import_is_refused_when_every_server_would_refuse_it(db, make_user, specs: dict) -> None:
    owner = make_user("ann")
    graph = copy.deepcopy(_builtin("Text to image").graph)
    graph["8"]["inputs"]["samples"] = ["5", 0]  # fine: EmptyLatentImage makes a LATENT
    graph["9"]["inputs"]["images"] = ["3", 0]  # SaveImage's images from KSampler's LATENT
    bindings = {"prompt": {"node": "6", "input": "text"}}
    # No server told us its definitions: nothing to hold against the graph yet.
    workflows.create_workflow(db, owner, "Unchecked", "image", graph, bindings)
    _server_with(db, "gpu-1", specs)
    db.commit()
    with pytest.raises(Invalid) as refused:
        workflows.create_workflow(db, owner, "Broken", "image", graph, bindings)
    assert (
        "gpu-1: “Save Image” (node 9): input images takes IMAGE but is linked to a LATENT output of “KSampler” (node 3)"
        in (refused.value.message)
    )


def test_a_utility_graph_without_prompt_or_checkpoint_imports(db, make_user, specs: dict) -> None:
    owner = make_user("ann")
    _server_with(db, "gpu-1", specs)
    db.commit()
    graph = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "example.png"}},
        "2": {"class_type": "ImageBlur", "inputs": {"image": ["1", 0], "blur_radius": 2, "sigma": 1.0}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "blur"}},
    }
    blur = workflows.create_workflow(
        db, owner, "Blur", "img2img", graph, {"init_image": {"node": "1", "input": "image"}}
    )
    assert blur.bindings == {"init_image": {"node": "1", "input": "image"}}
    upscale_graph = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "example.png"}},
        "2": {
            "class_type": "ImageScaleBy",
            "inputs": {"image": ["1", 0], "upscale_method": "lanczos", "scale_by": 2.0},
        },
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "up"}},
    }
    assert workflows.create_workflow(db, owner, "Upscale", "image", upscale_graph, {}).bindings == {}
