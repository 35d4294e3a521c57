"""A first guess at a workflow's bindings, from the core nodes most graphs are made of.

The bindings editor starts from this guess; the person importing checks and changes it before saving.
"""

from __future__ import annotations

from typing import Any

from app.services.workflow_graph import CHECKPOINT_LOADERS, LORA_ANCHORS, binding_targets, is_link, node_order


def guess_bindings(graph: dict) -> dict[str, Any]:
    """Bindings a person would most likely choose, from the usual core nodes; they can be changed before saving."""
    nodes = sorted(((str(node_id), node) for node_id, node in graph.items()), key=lambda item: node_order(item[0]))
    guessed: dict[str, Any] = {}

    def bind(name: str, node_id: str, input_name: str) -> None:
        value = graph[node_id]["inputs"].get(input_name, ...)
        if value is ... or is_link(value):
            return
        target = {"node": node_id, "input": input_name}
        if name not in guessed:
            guessed[name] = target
        elif target not in binding_targets(guessed[name]):
            guessed[name] = [*binding_targets(guessed[name]), target]

    def first(*classes: str) -> list[tuple[str, dict]]:
        return [(node_id, node) for node_id, node in nodes if node.get("class_type") in classes]

    samplers = first("KSampler")
    if samplers:
        sampler_id, sampler = samplers[0]
        for name, input_name in (("seed", "seed"), ("steps", "steps"), ("cfg", "cfg"), ("sampler", "sampler_name")):
            bind(name, sampler_id, input_name)
        bind("scheduler", sampler_id, "scheduler")
        bind("denoise", sampler_id, "denoise")
        _guess_prompts(graph, nodes, sampler, bind)
    elif texts := first("CLIPTextEncode"):
        bind("prompt", texts[0][0], "text")
    for class_type in ("EmptyLatentImage", "EmptySD3LatentImage", "SVD_img2vid_Conditioning", "ImageScale"):
        for node_id, _node in first(class_type)[:1]:
            bind("width", node_id, "width")
            bind("height", node_id, "height")
        if "width" in guessed:
            break
    for node_id, _node in first("SVD_img2vid_Conditioning")[:1]:
        bind("frames", node_id, "video_frames")
        bind("fps", node_id, "fps")
    for node_id, _node in first("CreateVideo", "SaveWEBM", "SaveAnimatedWEBP", "VHS_VideoCombine")[:1]:
        bind("fps", node_id, "frame_rate" if "frame_rate" in graph[node_id]["inputs"] else "fps")
    for node_id, node in first(*CHECKPOINT_LOADERS)[:1]:
        bind("checkpoint", node_id, "ckpt_name")
        model_output, clip_output = LORA_ANCHORS.get(node["class_type"], (0, None))
        if node["class_type"] != "ImageOnlyCheckpointLoader" and _uses(graph, node_id, model_output):
            guessed["loras"] = {"node": node_id, "model_output": model_output, "clip_output": clip_output}
    for node_id, _node in first("VAELoader")[:1]:
        bind("vae", node_id, "vae_name")
    _guess_images(nodes, guessed, bind)
    return guessed


def _guess_prompts(graph: dict, nodes: list[tuple[str, dict]], sampler: dict, bind: Any) -> None:
    texts = [node_id for node_id, node in nodes if node.get("class_type") == "CLIPTextEncode"]
    wired = {role: sampler["inputs"].get(role) for role in ("positive", "negative")}
    positive = str(wired["positive"][0]) if is_link(wired["positive"]) else None
    negative = str(wired["negative"][0]) if is_link(wired["negative"]) else None
    prompt = positive if positive in texts else next((t for t in texts if t != negative), None)
    if prompt:
        bind("prompt", prompt, "text")
    negative_prompt = negative if negative in texts else next((t for t in texts if t != prompt), None)
    if negative_prompt and negative_prompt != prompt:
        bind("negative_prompt", negative_prompt, "text")


def _guess_images(nodes: list[tuple[str, dict]], guessed: dict[str, Any], bind: Any) -> None:
    loads = [node_id for node_id, node in nodes if node.get("class_type") == "LoadImage"]
    face_id = None
    for _node_id, node in nodes:
        if node.get("class_type") == "ReActorFaceSwap":
            source = node["inputs"].get("source_image")
            if is_link(source) and str(source[0]) in loads:
                face_id = str(source[0])
                bind("face_image", face_id, "image")
            target = node["inputs"].get("input_image")
            if is_link(target) and str(target[0]) in loads:
                bind("init_image", str(target[0]), "image")
    remaining = [node_id for node_id in loads if node_id != face_id]
    if remaining and "init_image" not in guessed:
        bind("init_image", remaining[0], "image")


def _uses(graph: dict, node_id: str, output: int) -> bool:
    return any(
        is_link(value) and str(value[0]) == node_id and value[1] == output
        for node in graph.values()
        for value in node.get("inputs", {}).values()
    )


VIDEO_OUTPUTS = ("SaveVideo", "SaveWEBM", "SaveAnimatedWEBP", "SaveAnimatedPNG", "CreateVideo", "VHS_VideoCombine")


def guess_kind(graph: dict) -> str:
    """What a graph most likely makes, from the nodes it has: a face swap, a video, an img2img or an image."""
    classes = {str(node.get("class_type")) for node in graph.values()}
    if "ReActorFaceSwap" in classes:
        return "faceswap"
    if classes & set(VIDEO_OUTPUTS):
        return "video"
    if "LoadImage" in classes and "EmptyLatentImage" not in classes:
        return "img2img"
    return "image"
