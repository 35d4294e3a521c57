"""Graph functions on API-format workflows, and the built-ins checked against a real ComfyUI's node definitions."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from app.services import workflow_graph as wg
from app.services.generation_params import GenerationParams, LoraSpec
from app.services.workflows import builtin_definitions
from components.workflow_guess import guess_bindings, guess_kind
from data.errors import Invalid

CAPTURES = Path(__file__).resolve().parents[1] / "fakes" / "captures"


@pytest.fixture(scope="module")
def object_info() -> dict[str, Any]:
    """GET /object_info of a real ComfyUI 0.3.64: every core node class and its inputs."""
    return json.loads((CAPTURES / "object_info_full.json").read_text())


def _builtin(name: str) -> dict[str, Any]:
    definition = next(d for d in builtin_definitions() if d.name == name)
    return {"graph": definition.graph, "bindings": definition.bindings, "kind": definition.kind}


# The ReActor node is a custom node: its inputs as custom_node_ReActorFaceSwap.md describes them.
REACTOR = {
    "required": {
        "enabled": "BOOLEAN",
        "input_image": "IMAGE",
        "swap_model": "STRING",
        "facedetection": ["retinaface_resnet50", "retinaface_mobile0.25", "YOLOv5l", "YOLOv5n"],
        "face_restore_model": "STRING",
        "face_restore_visibility": "FLOAT",
        "codeformer_weight": "FLOAT",
        "detect_gender_input": ["no", "female", "male"],
        "detect_gender_source": ["no", "female", "male"],
        "input_faces_index": "STRING",
        "source_faces_index": "STRING",
        "console_log_level": [0, 1, 2],
    },
    "optional": {"source_image": "IMAGE", "face_model": "FACE_MODEL", "face_boost": "FACE_BOOST"},
}


def _check_against_definitions(graph: dict[str, Any], object_info: dict[str, Any]) -> None:
    for node_id, node in graph.items():
        class_type = node["class_type"]
        if class_type == "ReActorFaceSwap":
            spec = REACTOR
        else:
            assert class_type in object_info, f"node {node_id}: {class_type} is not a ComfyUI 0.3.64 node"
            spec = object_info[class_type]["input"]
        declared = {**spec.get("required", {}), **spec.get("optional", {})}
        required = set(spec.get("required", {}))
        given = set(node["inputs"])
        assert given <= set(declared), f"node {node_id} ({class_type}) has unknown inputs {given - set(declared)}"
        assert required <= given, f"node {node_id} ({class_type}) lacks required inputs {required - given}"
        for name, value in node["inputs"].items():
            if wg.is_link(value):
                continue
            options = declared[name]
            choices = options[0] if options and isinstance(options[0], list) else None
            if options and options[0] == "COMBO":
                choices = options[1].get("options")
            if class_type == "ReActorFaceSwap" and isinstance(options, list):
                choices = options
            # Model-file lists are what this one server had; every other list is a real enumeration.
            if choices and name not in ("ckpt_name", "lora_name", "vae_name", "image", "model_name"):
                assert value in choices, f"node {node_id} ({class_type}).{name}={value!r} not in {choices}"


@pytest.mark.parametrize("name", [d.name for d in builtin_definitions()])
def test_builtin_nodes_and_inputs_exist_in_comfyui(name: str, object_info: dict[str, Any]) -> None:
    builtin = _builtin(name)
    graph = wg.check_graph_shape(builtin["graph"])
    _check_against_definitions(graph, object_info)
    assert wg.check_bindings(graph, builtin["bindings"]) == builtin["bindings"]


@pytest.mark.parametrize("name", [d.name for d in builtin_definitions()])
def test_builtin_resolved_with_loras_has_only_links_to_existing_nodes(name: str, object_info: dict) -> None:
    builtin = _builtin(name)
    params = GenerationParams(
        prompt="a lighthouse at dusk",
        checkpoint="dreamshaper_8.safetensors",
        loras=[LoraSpec(name="ghibli_style.safetensors", strength=0.8), LoraSpec(name="film_grain.safetensors")],
        seed=42,
        steps=12,
        cfg=6.5,
        width=768,
        height=432,
        init_image="clip_7.png",
        face_image="face_3.png",
        frames=14,
        fps=8,
    )
    resolved = wg.resolve_graph(builtin["graph"], builtin["bindings"], params)
    for node_id, node in resolved.items():
        for input_name, value in node["inputs"].items():
            if wg.is_link(value):
                assert value[0] in resolved, f"{node_id}.{input_name} links to missing node {value[0]}"
    _check_against_definitions(resolved, object_info)
    assert resolved != builtin["graph"]


def test_builtins_are_the_four_kinds_with_the_promised_settings() -> None:
    kinds = {d.kind: d for d in builtin_definitions()}
    assert set(kinds) == {"image", "img2img", "video", "faceswap"}
    t2i = kinds["image"].graph
    sampler = next(n for n in t2i.values() if n["class_type"] == "KSampler")["inputs"]
    latent = next(n for n in t2i.values() if n["class_type"] == "EmptyLatentImage")["inputs"]
    assert (latent["width"], latent["height"], sampler["steps"], sampler["cfg"]) == (1024, 576, 25, 7.0)
    assert (sampler["sampler_name"], sampler["scheduler"]) == ("euler", "normal")
    assert next(n for n in t2i.values() if n["class_type"] == "SaveImage")["inputs"]["filename_prefix"] == (
        "storycanvas/image"
    )
    i2i = kinds["img2img"].graph
    assert next(n for n in i2i.values() if n["class_type"] == "KSampler")["inputs"]["denoise"] == 0.6
    video = kinds["video"]
    assert wg.main_checkpoint(video.graph) == "svd_xt.safetensors"
    save = next(n for n in video.graph.values() if n["class_type"] == "SaveVideo")["inputs"]
    assert (save["format"], save["codec"]) == ("mp4", "h264")
    assert len(wg.binding_targets(video.bindings["fps"])) == 2
    assert "ReActorFaceSwap" in wg.required_nodes(kinds["faceswap"].graph)


def test_guessing_finds_the_builtin_bindings() -> None:
    for definition in builtin_definitions():
        assert guess_bindings(definition.graph) == definition.bindings, definition.name
        assert guess_kind(definition.graph) == definition.kind


# --- resolve ------------------------------------------------------------------------------------------------------


def _t2i() -> tuple[dict, dict]:
    builtin = _builtin("Text to image")
    return builtin["graph"], builtin["bindings"]


def test_resolve_sets_bound_inputs_and_leaves_the_template_untouched() -> None:
    graph, bindings = _t2i()
    before = json.dumps(graph, sort_keys=True)
    params = GenerationParams(prompt="red kite", negative_prompt="", seed=7, sampler="dpmpp_2m", width=512)
    resolved = wg.resolve_graph(graph, bindings, params)
    assert resolved["6"]["inputs"]["text"] == "red kite"
    assert resolved["7"]["inputs"]["text"] == ""
    assert resolved["3"]["inputs"]["seed"] == 7
    assert resolved["3"]["inputs"]["sampler_name"] == "dpmpp_2m"
    assert resolved["5"]["inputs"]["width"] == 512
    assert resolved["5"]["inputs"]["height"] == 576  # not given: the template's value stays
    assert resolved["3"]["inputs"]["steps"] == 25
    assert json.dumps(graph, sort_keys=True) == before


def test_resolve_keeps_each_inputs_number_type_across_a_list_binding() -> None:
    video = _builtin("Image to video")
    resolved = wg.resolve_graph(video["graph"], video["bindings"], GenerationParams(fps=12.0, frames=30))
    assert resolved["3"]["inputs"]["fps"] == 12 and isinstance(resolved["3"]["inputs"]["fps"], int)
    assert resolved["7"]["inputs"]["fps"] == 12.0 and isinstance(resolved["7"]["inputs"]["fps"], float)
    assert resolved["3"]["inputs"]["video_frames"] == 30


def test_resolve_chains_loras_and_rewires_every_model_and_clip_user() -> None:
    graph, bindings = _t2i()
    params = GenerationParams(loras=[LoraSpec(name="a.safetensors", strength=0.5), LoraSpec(name="b.safetensors")])
    resolved = wg.resolve_graph(graph, bindings, params)
    added = sorted(set(resolved) - set(graph), key=int)
    assert len(added) == 2 and all(int(node_id) > 9 for node_id in added)
    first, second = (resolved[node_id] for node_id in added)
    assert first["class_type"] == second["class_type"] == "LoraLoader"
    assert first["inputs"] == {
        "model": ["4", 0],
        "clip": ["4", 1],
        "lora_name": "a.safetensors",
        "strength_model": 0.5,
        "strength_clip": 0.5,
    }
    assert second["inputs"]["model"] == [added[0], 0] and second["inputs"]["clip"] == [added[0], 1]
    assert resolved["3"]["inputs"]["model"] == [added[1], 0]
    assert resolved["6"]["inputs"]["clip"] == resolved["7"]["inputs"]["clip"] == [added[1], 1]
    assert resolved["8"]["inputs"]["vae"] == ["4", 2]  # the VAE output is not the LoRA's business
    assert wg.required_models(resolved)[1:] == [
        {"kind": "lora", "file_name": "a.safetensors"},
        {"kind": "lora", "file_name": "b.safetensors"},
    ]


def test_model_only_lora_chain_and_ids_that_do_not_collide() -> None:
    graph = {
        "unet": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux.safetensors", "weight_dtype": "default"}},
        "10": {"class_type": "KSampler", "inputs": {"model": ["unet", 0], "seed": 1}},
        "11": {"class_type": "SaveImage", "inputs": {"images": ["10", 0], "filename_prefix": "x"}},
    }
    bindings = {"loras": {"node": "unet", "model_output": 0, "clip_output": None}}
    resolved = wg.resolve_graph(graph, bindings, GenerationParams(loras=[LoraSpec(name="l.safetensors")]))
    assert resolved["12"] == {
        "class_type": "LoraLoaderModelOnly",
        "inputs": {"model": ["unet", 0], "lora_name": "l.safetensors", "strength_model": 1.0},
        "_meta": {"title": "l.safetensors"},
    }
    assert resolved["10"]["inputs"]["model"] == ["12", 0]


def test_resolve_names_the_binding_that_points_nowhere() -> None:
    graph, bindings = _t2i()
    with pytest.raises(Invalid, match=r"“seed”.*node 99"):
        wg.resolve_graph(graph, {**bindings, "seed": {"node": "99", "input": "seed"}}, GenerationParams(seed=1))
    with pytest.raises(Invalid, match=r"“steps”.*input stepz"):
        wg.resolve_graph(graph, {**bindings, "steps": {"node": "3", "input": "stepz"}}, GenerationParams())


def test_unbound_params_are_reported_not_applied() -> None:
    face = _builtin("Face swap (ReActor)")
    params = GenerationParams(prompt="x", seed=3, init_image="a.png", loras=[LoraSpec(name="l")])
    assert wg.unbound_params(face["bindings"], params) == ["prompt", "seed", "loras"]
    assert wg.resolve_graph(face["graph"], face["bindings"], params)["1"]["inputs"]["image"] == "a.png"


# --- shape and bindings -------------------------------------------------------------------------------------------


def test_shape_rejects_ui_format_with_the_export_instruction() -> None:
    with pytest.raises(Invalid) as caught:
        wg.check_graph_shape({"last_node_id": 9, "nodes": [], "links": [], "version": 0.4})
    assert caught.value.message == (
        "This is ComfyUI's UI format: in ComfyUI use Workflow → Export (API) and import that file"
    )


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        ("[1, 2", "not JSON"),
        ([1, 2], "JSON object"),
        ({}, "no nodes"),
        ({"1": {"inputs": {}}}, "Node 1 has no class_type"),
        ({"1": {"class_type": "SaveImage"}}, r"Node 1 \(SaveImage\) has no inputs"),
        ({"1": {"class_type": "SaveImage", "inputs": {"images": ["5", 0]}}}, "links to node 5"),
        ({"1": {"class_type": "EmptyLatentImage", "inputs": {"width": 8}}}, "no output node"),
    ],
)
def test_shape_says_what_is_wrong(graph: Any, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        wg.check_graph_shape(graph)


def test_shape_accepts_json_text_and_custom_output_nodes() -> None:
    text = json.dumps({"1": {"class_type": "VHS_VideoCombine", "inputs": {"frame_rate": 8}}})
    assert wg.check_graph_shape(text)["1"]["class_type"] == "VHS_VideoCombine"


def test_check_bindings_normalizes_and_rejects_unknown_names() -> None:
    graph, _bindings = _t2i()
    normalized = wg.check_bindings(
        graph,
        {
            "seed": [{"node": 3, "input": "seed"}],
            "width": [{"node": "5", "input": "width"}, {"node": "5", "input": "width"}],
            "prompt": None,
            "loras": {"node": 4},
        },
    )
    assert normalized == {
        "seed": {"node": "3", "input": "seed"},
        "width": {"node": "5", "input": "width"},
        "loras": {"node": "4", "model_output": 0, "clip_output": 1},
    }
    with pytest.raises(Invalid, match="Unknown binding “sead”"):
        wg.check_bindings(graph, {"sead": {"node": "3", "input": "seed"}})
    with pytest.raises(Invalid, match="nothing uses output 5"):
        wg.check_bindings(graph, {"loras": {"node": "4", "model_output": 5, "clip_output": 1}})


# --- what a graph needs -------------------------------------------------------------------------------------------


def test_required_models_nodes_and_main_checkpoint() -> None:
    graph, _bindings = _t2i()
    graph = {
        **graph,
        "20": {"class_type": "VAELoader", "inputs": {"vae_name": "sdxl_vae.safetensors"}},
        "21": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "4x.pth"}},
        "22": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
    }
    assert wg.main_checkpoint(graph) == "sd_xl_base_1.0.safetensors"
    assert wg.required_models(graph) == [
        {"kind": "checkpoint", "file_name": "sd_xl_base_1.0.safetensors"},
        {"kind": "vae", "file_name": "sdxl_vae.safetensors"},
        {"kind": "upscaler", "file_name": "4x.pth"},
    ]
    assert wg.required_nodes(graph) == sorted(
        {"CLIPTextEncode", "CheckpointLoaderSimple", "EmptyLatentImage", "KSampler", "SaveImage", "VAEDecode"}
        | {"VAELoader", "UpscaleModelLoader"}
    )
    assert wg.main_checkpoint({"1": {"class_type": "SaveImage", "inputs": {}}}) is None


def test_problems_on_server_in_words(object_info: dict) -> None:
    face = _builtin("Face swap (ReActor)")
    core_nodes = set(object_info)
    assert wg.problems_on_server(face["graph"], core_nodes, None) == [
        "Node ReActorFaceSwap is not installed on this server"
    ]
    assert wg.problems_on_server(face["graph"], core_nodes | {"ReActorFaceSwap"}, {}) == []
    graph, bindings = _t2i()
    assert wg.problems_on_server(graph, core_nodes, {"checkpoint": {"other.safetensors"}}) == [
        "Checkpoint sd_xl_base_1.0.safetensors is not on this server"
    ]
    assert wg.problems_on_server(graph, core_nodes, {}, bindings=bindings) == []  # each job sets the checkpoint
    assert wg.problems_on_server(graph, set(), None) == []  # nothing known: nothing held against it


def test_the_bindings_editor_offers_every_binding_once() -> None:
    from components.workflow_editor import BINDING_LABELS, BINDING_ORDER

    assert sorted(BINDING_ORDER) == sorted(wg.BINDING_NAMES) == sorted(BINDING_LABELS)


def test_graph_nodes_for_the_bindings_editor() -> None:
    graph, _bindings = _t2i()
    rows = wg.graph_nodes(graph)
    assert [row[0] for row in rows] == ["3", "4", "5", "6", "7", "8", "9"]
    assert rows[3] == ("6", "Positive prompt", ["text", "clip"])


def test_guess_picks_the_negative_prompt_by_its_wiring() -> None:
    graph = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "m.safetensors"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "bad hands", "clip": ["1", 1]}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["1", 1]}},
        "4": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
        "5": {
            "class_type": "KSampler",
            "inputs": {"model": ["1", 0], "positive": ["3", 0], "negative": ["2", 0], "latent_image": ["4", 0]},
        },
        "6": {"class_type": "SaveImage", "inputs": {"images": ["5", 0], "filename_prefix": "x"}},
    }
    guessed = guess_bindings(graph)
    assert guessed["prompt"] == {"node": "3", "input": "text"}
    assert guessed["negative_prompt"] == {"node": "2", "input": "text"}
    assert "seed" not in guessed  # KSampler here has no seed value to bind
    assert re.fullmatch(r"\d+", guessed["loras"]["node"])
