"""Pure functions on ComfyUI API-format graphs: check them, bind generation values into them, read what they need.

An API-format graph is `{node_id: {"class_type": str, "inputs": {name: value | [node_id, output_index]}}}`;
a two-element list `[str, int]` in an input is a link to another node's output. Bindings name where each
generation value goes: `{"prompt": {"node": "6", "input": "text"}}`, a list of such targets when one value
feeds several inputs (a video's fps), and for LoRAs the node whose MODEL/CLIP outputs a LoRA chain wraps.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from data.errors import Invalid

from .generation_params import GenerationParams

BINDING_NAMES = (
    "prompt",
    "negative_prompt",
    "seed",
    "steps",
    "cfg",
    "sampler",
    "scheduler",
    "width",
    "height",
    "checkpoint",
    "loras",
    "vae",
    "init_image",
    "denoise",
    "face_image",
    "frames",
    "fps",
)
SCALAR_BINDINGS = tuple(name for name in BINDING_NAMES if name != "loras")

# Nodes that ComfyUI runs as outputs (object_info's output_node) and the video savers of popular packs.
OUTPUT_NODES = frozenset(
    {
        "SaveImage",
        "PreviewImage",
        "SaveVideo",
        "SaveWEBM",
        "SaveAnimatedWEBP",
        "SaveAnimatedPNG",
        "SaveImageWebsocket",
        "SaveLatent",
        "SaveGLB",
        "SaveSVGNode",
        "PreviewAny",
        "MaskPreview",
        "Preview3D",
        "Preview3DAnimation",
        "CheckpointSave",
        "ImageOnlyCheckpointSave",
        "ModelSave",
        "CLIPSave",
        "VAESave",
        "LoraSave",
        "SaveLoRANode",
        "VHS_VideoCombine",
        "Image Save",
        "ReActorSaveFaceModel",
    }
)

# Loader inputs naming model files, by the catalog kind they belong to.
MODEL_INPUTS: dict[str, tuple[str, str]] = {
    "CheckpointLoaderSimple": ("checkpoint", "ckpt_name"),
    "CheckpointLoader": ("checkpoint", "ckpt_name"),
    "ImageOnlyCheckpointLoader": ("checkpoint", "ckpt_name"),
    "unCLIPCheckpointLoader": ("checkpoint", "ckpt_name"),
    "LoraLoader": ("lora", "lora_name"),
    "LoraLoaderModelOnly": ("lora", "lora_name"),
    "VAELoader": ("vae", "vae_name"),
    "UpscaleModelLoader": ("upscaler", "model_name"),
}
# Inputs naming a model file in a loader's own list (its /object_info choices). The graph check leaves them to
# problems_on_server, which names the file and the loader ("x is not in ImageOnlyCheckpointLoader's list"), and
# an import is never refused for a model a server lacks: installing it is how the workflow becomes runnable.
MODEL_FILE_INPUTS = frozenset({"ckpt_name", "lora_name", "vae_name", "model_name", "unet_name", "clip_name"})
CHECKPOINT_LOADERS = tuple(cls for cls, (kind, _) in MODEL_INPUTS.items() if kind == "checkpoint")
MODEL_KIND_LABELS = {"checkpoint": "Checkpoint", "lora": "LoRA", "vae": "VAE", "upscaler": "Upscale model"}

# Nodes a LoRA chain can wrap: their (MODEL, CLIP) output indexes; CLIP None means the chain is model-only.
LORA_ANCHORS: dict[str, tuple[int, int | None]] = {
    "CheckpointLoaderSimple": (0, 1),
    "CheckpointLoader": (0, 1),
    "unCLIPCheckpointLoader": (0, 1),
    "LoraLoader": (0, 1),
    "UNETLoader": (0, None),
    "LoraLoaderModelOnly": (0, None),
    "ImageOnlyCheckpointLoader": (0, None),
}

UI_FORMAT_MESSAGE = "This is ComfyUI's UI format: in ComfyUI use Workflow → Export (API) and import that file"


def is_link(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str | int)
        and not isinstance(value[0], bool)
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
    )


def node_order(node_id: str) -> tuple[int, int, str]:
    """ComfyUI's ids are numbers as strings: "10" sorts after "9"."""
    return (0, int(node_id), "") if node_id.isdigit() else (1, 0, node_id)


def _nodes(graph: dict) -> list[tuple[str, dict]]:
    return sorted(((str(node_id), node) for node_id, node in graph.items()), key=lambda item: node_order(item[0]))


def _label(node_id: str, node: dict) -> str:
    return f"node {node_id} ({node.get('class_type', '?')})"


# --- shape -------------------------------------------------------------------------------------------------------


def check_graph_shape(graph: Any) -> dict:
    """A graph ComfyUI can queue, or Invalid saying what is wrong with it; accepts a JSON text too."""
    if isinstance(graph, bytes | bytearray):
        graph = graph.decode("utf-8", errors="replace")
    if isinstance(graph, str):
        try:
            graph = json.loads(graph)
        except json.JSONDecodeError as error:
            raise Invalid(f"This is not JSON (line {error.lineno}, column {error.colno}: {error.msg}).") from error
    if not isinstance(graph, dict):
        raise Invalid("A workflow must be a JSON object of nodes: export it from ComfyUI with Workflow → Export (API).")
    if "nodes" in graph and "links" in graph:
        raise Invalid(UI_FORMAT_MESSAGE)
    if not graph:
        raise Invalid("The workflow has no nodes: export a workflow from ComfyUI with Workflow → Export (API).")
    checked: dict[str, dict] = {}
    for node_id, node in graph.items():
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str) or not node["class_type"]:
            raise Invalid(f"Node {node_id} has no class_type: this is not an API-format workflow (Export (API)).")
        if not isinstance(node.get("inputs"), dict):
            raise Invalid(
                f"Node {node_id} ({node['class_type']}) has no inputs: export the workflow with Export (API)."
            )
        checked[str(node_id)] = copy.deepcopy(node)
    for node_id, node in _nodes(checked):
        for name, value in node["inputs"].items():
            if is_link(value) and str(value[0]) not in checked:
                raise Invalid(
                    f"Input {name} of {_label(node_id, node)} links to node {value[0]}, which is not in the workflow."
                )
    if not any(_is_output(node["class_type"]) for node in checked.values()):
        raise Invalid(
            "The workflow has no output node (SaveImage, PreviewImage, SaveVideo, SaveWEBM, VHS_VideoCombine…): "
            "add one in ComfyUI so the result is saved, then export it again."
        )
    return checked


def _is_output(class_type: str) -> bool:
    return class_type in OUTPUT_NODES or class_type.startswith(("Save", "Preview")) or "VideoCombine" in class_type


# --- bindings ----------------------------------------------------------------------------------------------------


def binding_targets(binding: Any) -> list[dict[str, str]]:
    """A scalar binding's targets as a list, whether it was stored as one target or several."""
    if isinstance(binding, dict):
        return [binding]
    if isinstance(binding, list):
        return list(binding)
    return []


def check_bindings(graph: dict, bindings: dict) -> dict:
    """Bindings that point at nodes and inputs the graph has; unset names (None, empty) are dropped."""
    if bindings is None:
        return {}
    if not isinstance(bindings, dict):
        raise Invalid('Bindings must be a JSON object such as {"prompt": {"node": "6", "input": "text"}}.')
    normalized: dict[str, Any] = {}
    for name, binding in bindings.items():
        if name not in BINDING_NAMES:
            raise Invalid(f"Unknown binding “{name}”: use one of {', '.join(BINDING_NAMES)}.", field="bindings")
        if binding is None or binding == [] or binding == {}:
            continue
        normalized[name] = _check_loras(graph, binding) if name == "loras" else _check_scalar(graph, name, binding)
    return normalized


def _check_scalar(graph: dict, name: str, binding: Any) -> dict[str, str] | list[dict[str, str]]:
    if not isinstance(binding, dict | list):
        raise Invalid(f'Binding “{name}” must be {{"node": …, "input": …}} or a list of them.', field="bindings")
    targets = []
    for target in binding_targets(binding):
        if not isinstance(target, dict) or not isinstance(target.get("input"), str) or target.get("node") is None:
            raise Invalid(f"Binding “{name}” needs a node and an input for each target.", field="bindings")
        node_id, input_name = str(target["node"]), target["input"]
        node = graph.get(node_id)
        if node is None:
            raise Invalid(
                f"Binding “{name}” points to node {node_id}, which the workflow does not have.", field="bindings"
            )
        if input_name not in node.get("inputs", {}):
            raise Invalid(
                f"Binding “{name}” points to input {input_name} of {_label(node_id, node)}, which has no such input.",
                field="bindings",
            )
        if {"node": node_id, "input": input_name} not in targets:
            targets.append({"node": node_id, "input": input_name})
    return targets[0] if len(targets) == 1 else targets


def _check_loras(graph: dict, binding: Any) -> dict[str, Any]:
    if not isinstance(binding, dict) or binding.get("node") is None:
        raise Invalid(
            "Binding “loras” must name the node whose outputs a LoRA chain wraps: "
            '{"node": "4", "model_output": 0, "clip_output": 1}.',
            field="bindings",
        )
    node_id = str(binding["node"])
    node = graph.get(node_id)
    if node is None:
        raise Invalid(f"Binding “loras” points to node {node_id}, which the workflow does not have.", field="bindings")
    default_model, default_clip = LORA_ANCHORS.get(node.get("class_type", ""), (0, None))
    model_output = binding.get("model_output", default_model)
    clip_output = binding.get("clip_output", default_clip)
    for label, value, optional in (("model_output", model_output, False), ("clip_output", clip_output, True)):
        if (value is None and not optional) or (
            value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0)
        ):
            raise Invalid(f"Binding “loras”: {label} must be an output number (0, 1, …).", field="bindings")
    if not _consumers(graph, node_id, model_output):
        raise Invalid(
            f"Binding “loras”: nothing uses output {model_output} (the model) of {_label(node_id, node)}.",
            field="bindings",
        )
    return {"node": node_id, "model_output": model_output, "clip_output": clip_output}


def _consumers(graph: dict, node_id: str, output: int) -> list[tuple[str, str]]:
    return [
        (consumer_id, name)
        for consumer_id, node in graph.items()
        for name, value in node.get("inputs", {}).items()
        if is_link(value) and str(value[0]) == node_id and value[1] == output
    ]


# --- resolve -----------------------------------------------------------------------------------------------------


def resolve_graph(graph: dict, bindings: dict, params: GenerationParams) -> dict:
    """The graph to queue: a copy with every bound value that the params set, and the LoRA chain inserted.

    Params that the workflow has no binding for are left out (a face swap has no prompt); unbound_params says which.
    """
    resolved = copy.deepcopy(graph)
    checked = check_bindings(resolved, bindings)
    for name in SCALAR_BINDINGS:
        value = getattr(params, name)
        if value is None or name not in checked:
            continue
        for target in binding_targets(checked[name]):
            inputs = resolved[target["node"]]["inputs"]
            inputs[target["input"]] = _like(inputs.get(target["input"]), value)
    if params.loras and "loras" in checked:
        _insert_loras(resolved, checked["loras"], params)
    return resolved


def unbound_params(bindings: dict, params: GenerationParams) -> list[str]:
    """Params set to something this workflow cannot take (no binding): for a warning, never an error."""
    names = [name for name in SCALAR_BINDINGS if getattr(params, name) not in (None, "") and name not in bindings]
    return [*names, "loras"] if params.loras and "loras" not in bindings else names


def _like(current: Any, value: Any) -> Any:
    """Keep the input's number type: SVD's fps is an INT where CreateVideo's is a FLOAT."""
    if isinstance(current, int) and not isinstance(current, bool) and isinstance(value, float):
        return round(value)
    if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _new_ids(graph: dict, count: int) -> list[str]:
    numbers = [int(node_id) for node_id in graph if str(node_id).isdigit()]
    next_number = max(numbers, default=0) + 1
    ids: list[str] = []
    while len(ids) < count:
        if str(next_number) not in graph:
            ids.append(str(next_number))
        next_number += 1
    return ids


def _insert_loras(graph: dict, anchor: dict[str, Any], params: GenerationParams) -> None:
    anchor_id, model_output, clip_output = anchor["node"], anchor["model_output"], anchor["clip_output"]
    model_consumers = _consumers(graph, anchor_id, model_output)
    clip_consumers = _consumers(graph, anchor_id, clip_output) if clip_output is not None else []
    model_link: list[Any] = [anchor_id, model_output]
    clip_link: list[Any] = [anchor_id, clip_output]
    for node_id, lora in zip(_new_ids(graph, len(params.loras)), params.loras, strict=True):
        inputs: dict[str, Any] = {"model": model_link, "lora_name": lora.name, "strength_model": lora.strength}
        if clip_output is None:
            graph[node_id] = {"class_type": "LoraLoaderModelOnly", "inputs": inputs, "_meta": {"title": lora.name}}
        else:
            inputs.update(clip=clip_link, strength_clip=lora.strength)
            graph[node_id] = {"class_type": "LoraLoader", "inputs": inputs, "_meta": {"title": lora.name}}
            clip_link = [node_id, 1]
        model_link = [node_id, 0]
    for consumer_id, name in model_consumers:
        graph[consumer_id]["inputs"][name] = list(model_link)
    for consumer_id, name in clip_consumers:
        graph[consumer_id]["inputs"][name] = list(clip_link)


# --- inspect -----------------------------------------------------------------------------------------------------


def main_checkpoint(graph: dict) -> str | None:
    """The first checkpoint file the graph loads: the dispatcher prefers a server that has it loaded."""
    for _node_id, node in _nodes(graph):
        if node.get("class_type") in CHECKPOINT_LOADERS:
            value = node.get("inputs", {}).get("ckpt_name")
            if isinstance(value, str) and value:
                return value
    return None


def _model_inputs(graph: dict) -> list[tuple[str, str, str, str]]:
    """(node id, input name, kind, file name) of every loader input that names a file."""
    found = []
    for node_id, node in _nodes(graph):
        kind_input = MODEL_INPUTS.get(node.get("class_type", ""))
        if kind_input is None:
            continue
        kind, input_name = kind_input
        value = node.get("inputs", {}).get(input_name)
        if isinstance(value, str) and value:
            found.append((node_id, input_name, kind, value))
    return found


def required_models(graph: dict) -> list[dict[str, str]]:
    models: list[dict[str, str]] = []
    for _node_id, _input, kind, file_name in _model_inputs(graph):
        entry = {"kind": kind, "file_name": file_name}
        if entry not in models:
            models.append(entry)
    return models


def required_nodes(graph: dict) -> list[str]:
    return sorted({str(node.get("class_type")) for node in graph.values()})


def problems_on_server(
    graph: dict,
    node_types: set[str],
    models: dict[str, set[str]] | None,
    *,
    bindings: dict | None = None,
    specs: dict[str, Any] | None = None,
) -> list[str]:
    """Why a server cannot run this graph, in words; [] when it can.

    An empty node_types or models None means that catalog was never read: it is not held against the server.
    With bindings given (a template rather than a resolved graph), bound model inputs are not checked:
    each job sets its own.
    """
    problems = [
        f"Node {class_type} is not installed on this server"
        for class_type in required_nodes(graph)
        if node_types and class_type not in node_types
    ]
    if specs:
        problems.extend(spec_problems(graph, specs, unchecked=bound_inputs(bindings) if bindings else None))
    bound = {(t["node"], t["input"]) for b in (bindings or {}).values() for t in binding_targets(b) if "input" in t}
    listed: set[tuple[str, str]] = set()
    for node_id, node in _nodes(graph):
        class_type = str(node.get("class_type", ""))
        for input_name, value in (node.get("inputs") or {}).items():
            choices = loader_choices(specs, class_type, input_name) if specs else None
            if choices is None or input_name not in MODEL_FILE_INPUTS or not isinstance(value, str):
                continue
            listed.add((node_id, input_name))
            if (node_id, input_name) not in bound and value not in choices:
                problems.append(f"{value} is not in {class_type}'s list")
    if models is None:
        return problems
    seen: set[tuple[str, str]] = set()
    for node_id, input_name, kind, file_name in _model_inputs(graph):
        if (node_id, input_name) in bound or (node_id, input_name) in listed or (kind, file_name) in seen:
            continue
        seen.add((kind, file_name))
        if file_name not in models.get(kind, set()):
            problems.append(f"{MODEL_KIND_LABELS[kind]} {file_name} is not on this server")
    return problems


def loader_choices(specs: dict[str, Any], class_type: str, input_name: str) -> list[str] | None:
    """The files a loader input accepts on a server (its /object_info list); None when the server did not say
    (no node definitions, or ones stored before model lists were kept)."""
    spec = specs.get(class_type)
    if not isinstance(spec, dict):
        return None
    expected = (spec.get("required") or {}).get(input_name) or (spec.get("optional") or {}).get(input_name)
    choices = expected.get("choices") if isinstance(expected, dict) else None
    return [str(choice) for choice in choices] if isinstance(choices, list) else None


def graph_nodes(graph: dict) -> list[tuple[str, str, list[str]]]:
    """(node id, title or class, input names) in ComfyUI's id order, for the bindings editor."""
    rows = []
    for node_id, node in _nodes(graph):
        title = (node.get("_meta") or {}).get("title") or node.get("class_type", "?")
        rows.append((node_id, str(title), list(node.get("inputs", {}))))
    return rows


# --- against a server's node definitions (its /object_info) ------------------------------------------------------


def _title(node_id: str, node: dict) -> str:
    title = (node.get("_meta") or {}).get("title") or node.get("class_type", "?")
    return f"“{title}” (node {node_id})"


def _types_meet(output_type: str, input_type: str) -> bool:
    """ComfyUI's rule: "*" takes anything, a comma list is a set of types, COMBO outputs feed combo inputs."""
    if "*" in (output_type, input_type) or "COMBO" in (output_type, input_type):
        return True
    return bool(set(output_type.split(",")) & set(input_type.split(",")))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def spec_problems(graph: dict, specs: dict[str, Any], *, unchecked: set[tuple[str, str]] | None = None) -> list[str]:
    """What ComfyUI's own validation would refuse in this graph, in words naming the node and the input.

    Required inputs present, links from outputs of the type the input takes, numbers within min and max,
    choices in their lists. Nodes the server does not define are left to problems_on_server. `unchecked`
    (node id, input) are inputs whose value each job sets (bindings): their presence and links still count.
    """
    problems: list[str] = []
    skip = unchecked or set()
    for node_id, node in _nodes(graph):
        spec = specs.get(node.get("class_type", ""))
        if not isinstance(spec, dict):
            continue
        inputs = node.get("inputs", {})
        required, optional = spec.get("required") or {}, spec.get("optional") or {}
        where = _title(node_id, node)
        for name in required:
            if name not in inputs:
                problems.append(f"{where}: the required input {name} is missing")
        for name, value in inputs.items():
            expected = required.get(name) or optional.get(name)
            if not isinstance(expected, dict):
                continue
            if is_link(value):
                source = graph.get(str(value[0]))
                source_spec = specs.get(source.get("class_type", "")) if isinstance(source, dict) else None
                outputs = source_spec.get("output", []) if isinstance(source_spec, dict) else []
                if isinstance(source, dict) and source_spec is not None and not 0 <= value[1] < len(outputs):
                    problems.append(
                        f"{where}: input {name} links to output {value[1]} of {_title(str(value[0]), source)}, "
                        "which has no such output"
                    )
                elif (
                    isinstance(source, dict)
                    and outputs
                    and not _types_meet(str(outputs[value[1]]), str(expected.get("type", "*")))
                ):
                    problems.append(
                        f"{where}: input {name} takes {expected.get('type')} but is linked to a "
                        f"{outputs[value[1]]} output of {_title(str(value[0]), source)}"
                    )
                continue
            if (node_id, name) in skip:
                continue
            problems.extend(_value_problems(where, name, value, expected))
    return problems


def _value_problems(where: str, name: str, value: Any, expected: dict[str, Any]) -> list[str]:
    kind = expected.get("type")
    if kind in ("INT", "FLOAT") and _is_number(value):
        if "min" in expected and value < expected["min"]:
            return [f"{where}: input {name} is {value}, below the minimum {expected['min']}"]
        if "max" in expected and value > expected["max"]:
            return [f"{where}: input {name} is {value}, above the maximum {expected['max']}"]
    choices = expected.get("choices")
    if kind == "COMBO" and isinstance(choices, list) and value not in choices and name not in MODEL_FILE_INPUTS:
        shown = ", ".join(str(choice) for choice in choices[:8]) + (" …" if len(choices) > 8 else "")
        return [f"{where}: input {name} is “{value}”, which is not one of {shown}"]
    return []


def bound_inputs(bindings: dict | None) -> set[tuple[str, str]]:
    """(node id, input) of every scalar binding: their values are set per job."""
    return {
        (str(target["node"]), str(target["input"]))
        for name, binding in (bindings or {}).items()
        if name != "loras"
        for target in binding_targets(binding)
        if isinstance(target, dict) and "input" in target
    }


def seed_limit(graph: dict, bindings: dict, specs: list[dict[str, Any]], default: int) -> int:
    """The largest seed every bound seed input takes on every server that defines its node.

    A random seed above it is refused by ComfyUI ("Value 2022195351 bigger than max of 16777215" for a node whose
    seed is 24 bits), so random seeds are drawn below it."""
    limit = default
    for target in binding_targets((bindings or {}).get("seed")):
        node = graph.get(str(target.get("node")))
        if not isinstance(node, dict):
            continue
        for server_specs in specs:
            spec = server_specs.get(node.get("class_type", ""))
            if not isinstance(spec, dict):
                continue
            expected = (spec.get("required") or {}).get(target["input"]) or (spec.get("optional") or {}).get(
                target["input"]
            )
            if isinstance(expected, dict) and _is_number(expected.get("max")):
                limit = min(limit, int(expected["max"]))
    return max(0, limit)
