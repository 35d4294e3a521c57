"""What ComfyUI does with node definitions and graphs, as the fake ComfyUI needs it.

Node definitions come from the captured /object_info with the server's model files put in the
loader lists; validation answers like ComfyUI 0.3.64's POST /prompt (see the captured errors).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

CAPTURES = Path(__file__).parent / "captures"
# Loader inputs whose value must be a model file the server has: (node, input) → the fake's knob holding the files.
MODEL_INPUTS = {
    ("CheckpointLoaderSimple", "ckpt_name"): "checkpoints",
    ("ImageOnlyCheckpointLoader", "ckpt_name"): "checkpoints",
    ("CheckpointLoader", "ckpt_name"): "checkpoints",
    ("unCLIPCheckpointLoader", "ckpt_name"): "checkpoints",
    # Video models such as Wan or LTX-Video load from the diffusion_models folder (ComfyUI's UNETLoader).
    ("UNETLoader", "unet_name"): "diffusion_models",
    ("LoraLoader", "lora_name"): "loras",
    ("LoraLoaderModelOnly", "lora_name"): "loras",
    ("VAELoader", "vae_name"): "vaes",
    ("UpscaleModelLoader", "model_name"): "upscalers",
}


@cache
def _capture_text(name: str) -> str:
    return (CAPTURES / name).read_text()


def load_capture(name: str) -> Any:
    """A fresh copy of a captured sample (callers may change it)."""
    return json.loads(_capture_text(name))


def is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


def object_info(files: dict[str, list[str]], uploads: list[str], extra_node_types: list[str]) -> dict[str, Any]:
    """The captured node set with `files` (knob name → file names) in the loader lists and extra custom nodes."""
    info = load_capture("object_info_full.json")
    for (node, input_name), knob in MODEL_INPUTS.items():
        spec = info.get(node, {}).get("input", {}).get("required", {}).get(input_name)
        if spec is None:
            continue
        names = list(files.get(knob, [])) + (["pixel_space"] if knob == "vaes" else [])
        if spec[0] == "COMBO":
            spec[1]["options"] = names
        else:
            spec[0] = names
    info["LoadImage"]["input"]["required"]["image"][0] = ["example.png", *uploads]
    for name in extra_node_types:
        info[name] = reactor_definition() if name == "ReActorFaceSwap" else custom_node_definition(name)
    return info


def output_nodes(graph: dict[str, Any], info: dict[str, Any]) -> list[str]:
    return [node_id for node_id, node in graph.items() if info[node["class_type"]].get("output_node")]


def reactor_definition() -> dict[str, Any]:
    """ReActorFaceSwap as its INPUT_TYPES declares it (see the protocol notes on the custom node)."""
    genders = [["no", "female", "male"], {"default": "no"}]
    return {
        "input": {
            "required": {
                "enabled": ["BOOLEAN", {"default": True, "label_off": "OFF", "label_on": "ON"}],
                "input_image": ["IMAGE"],
                "swap_model": [["inswapper_128.onnx"]],
                "facedetection": [["retinaface_resnet50", "retinaface_mobile0.25", "YOLOv5l", "YOLOv5n"]],
                "face_restore_model": [["none", "codeformer-v0.1.0.pth", "GFPGANv1.4.pth"]],
                "face_restore_visibility": ["FLOAT", {"default": 1.0, "min": 0.1, "max": 1.0, "step": 0.05}],
                "codeformer_weight": ["FLOAT", {"default": 0.5, "min": 0.0, "max": 1.0, "step": 0.05}],
                "detect_gender_input": genders,
                "detect_gender_source": copy.deepcopy(genders),
                "input_faces_index": ["STRING", {"default": "0"}],
                "source_faces_index": ["STRING", {"default": "0"}],
                "console_log_level": [[0, 1, 2], {"default": 1}],
            },
            "optional": {"source_image": ["IMAGE"], "face_model": ["FACE_MODEL"], "face_boost": ["FACE_BOOST"]},
        },
        "input_order": {
            "required": [
                "enabled",
                "input_image",
                "swap_model",
                "facedetection",
                "face_restore_model",
                "face_restore_visibility",
                "codeformer_weight",
                "detect_gender_input",
                "detect_gender_source",
                "input_faces_index",
                "source_faces_index",
                "console_log_level",
            ],
            "optional": ["source_image", "face_model", "face_boost"],
        },
        "output": ["IMAGE", "FACE_MODEL", "IMAGE"],
        "output_is_list": [False, False, False],
        "output_name": ["SWAPPED_IMAGE", "FACE_MODEL", "ORIGINAL_IMAGE"],
        "name": "ReActorFaceSwap",
        "display_name": "ReActor 🌌 Fast Face Swap",
        "description": "",
        "python_module": "custom_nodes.comfyui-reactor",
        "category": "🌌 ReActor",
        "output_node": False,
    }


def custom_node_definition(name: str) -> dict[str, Any]:
    """A plausible image-to-image custom node for any other extra node type."""
    return {
        "input": {"required": {"image": ["IMAGE"]}},
        "input_order": {"required": ["image"]},
        "output": ["IMAGE"],
        "output_is_list": [False],
        "output_name": ["IMAGE"],
        "name": name,
        "display_name": name,
        "description": "",
        "python_module": f"custom_nodes.{name}",
        "category": "custom",
        "output_node": False,
    }


def upstream(graph: dict[str, Any], node_id: str) -> list[str]:
    """node_id and every node it depends on, dependencies first (ComfyUI's execution order)."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(current: str) -> None:
        if current in order or current in visiting or current not in graph:
            return
        visiting.add(current)
        for value in (graph[current].get("inputs") or {}).values():
            if is_link(value):
                visit(value[0])
        order.append(current)

    visit(node_id)
    return order


def execution_order(graph: dict[str, Any], outputs: list[str]) -> list[str]:
    """The nodes the outputs need; of those ready to run, the earliest in the graph goes first (as observed)."""
    needed = {node_id for output in outputs for node_id in upstream(graph, output)}
    depends = {
        node_id: {value[0] for value in (graph[node_id].get("inputs") or {}).values() if is_link(value)} & needed
        for node_id in needed
    }
    order: list[str] = []
    while len(order) < len(needed):
        ready = [node_id for node_id in graph if node_id in needed and node_id not in order]
        ready = [node_id for node_id in ready if depends[node_id] <= set(order)] or ready[:1]
        order.append(ready[0])
    return order


def validate(graph: dict[str, Any], info: dict[str, Any]) -> dict[str, Any] | None:
    """ComfyUI's answer to POST /prompt when the graph cannot run, or None when it can."""
    for node_id, node in graph.items():
        if not isinstance(node, dict) or "class_type" not in node:
            message = "Cannot execute because a node is missing the class_type property."
            return invalid_prompt(message, node_id)
        if node["class_type"] not in info:
            return invalid_prompt(f"Cannot execute because node {node['class_type']} does not exist.", node_id)
    outputs = [node_id for node_id, node in graph.items() if info[node["class_type"]].get("output_node")]
    if not outputs:
        return load_capture("prompt_no_output_error.json")
    found: dict[str, Any] = {}
    for output in outputs:
        for node_id in upstream(graph, output):
            errors = node_errors(graph[node_id], info[graph[node_id]["class_type"]], graph, info)
            if errors:
                entry = found.setdefault(
                    node_id, {"errors": errors, "dependent_outputs": [], "class_type": graph[node_id]["class_type"]}
                )
                entry["dependent_outputs"].append(output)
    if not found:
        return None
    error = {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation"}
    return {"error": {**error, "details": "", "extra_info": {}}, "node_errors": found}


def _types_meet(received: str, expected: str) -> bool:
    """ComfyUI 0.3.64's validate_node_input: "*" matches anything, comma lists are sets of types."""
    if "*" in (received, expected) or received == expected:
        return True
    return bool(set(received.split(",")) & set(expected.split(",")))


def node_errors(
    node: dict[str, Any],
    definition: dict[str, Any],
    graph: dict[str, Any] | None = None,
    info: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The errors ComfyUI's validate_inputs reports for one node, field for field: a missing required input,
    a link from an output of another type, a number out of range, a value not in its combo list."""
    inputs = node.get("inputs") or {}
    required = definition.get("input", {}).get("required", {})
    optional = definition.get("input", {}).get("optional", {})
    errors: list[dict[str, Any]] = []
    for name in required:
        if name not in inputs:
            errors.append(
                {
                    "type": "required_input_missing",
                    "message": "Required input is missing",
                    "details": name,
                    "extra_info": {"input_name": name},
                }
            )
    for name, value in inputs.items():
        spec = required.get(name) or optional.get(name)
        if not spec:
            continue
        if is_link(value):
            source = (graph or {}).get(value[0])
            source_info = (info or {}).get(source.get("class_type")) if isinstance(source, dict) else None
            outputs = (source_info or {}).get("output") or []
            if 0 <= value[1] < len(outputs):
                received = outputs[value[1]]
                received = "COMBO" if isinstance(received, list) else received
                expected = "COMBO" if isinstance(spec[0], list) else spec[0]
                if not _types_meet(received, expected):
                    details = f"{name}, received_type({received}) mismatch input_type({expected})"
                    errors.append(
                        {
                            "type": "return_type_mismatch",
                            "message": "Return type mismatch between linked nodes",
                            "details": details,
                            "extra_info": {
                                "input_name": name,
                                "input_config": spec,
                                "received_type": received,
                                "linked_node": value,
                            },
                        }
                    )
            continue
        options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
        extra = {"input_name": name, "input_config": spec, "received_value": value}
        if spec[0] in ("INT", "FLOAT") and isinstance(value, int | float) and not isinstance(value, bool):
            if "min" in options and value < options["min"]:
                message = f"Value {value} smaller than min of {options['min']}"
                errors.append({"type": "value_smaller_than_min", "message": message, "details": name})
                errors[-1]["extra_info"] = extra
            elif "max" in options and value > options["max"]:
                message = f"Value {value} bigger than max of {options['max']}"
                errors.append({"type": "value_bigger_than_max", "message": message, "details": name})
                errors[-1]["extra_info"] = extra
        elif isinstance(spec[0], list) or spec[0] == "COMBO":
            choices = options.get("options", []) if spec[0] == "COMBO" else spec[0]
            if value not in choices:
                listed = f"(list of length {len(choices)})" if len(choices) > 20 else str(choices)
                details = f"{name}: '{value}' not in {listed}"
                errors.append({"type": "value_not_in_list", "message": "Value not in list", "details": details})
                errors[-1]["extra_info"] = extra
    return errors


def invalid_prompt(message: str, node_id: str) -> dict[str, Any]:
    error = {"type": "invalid_prompt", "message": message, "details": f"Node ID '#{node_id}'", "extra_info": {}}
    return {"error": error, "node_errors": {}}
