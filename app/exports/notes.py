"""Text the writers share: a clip's identity line, its prompts and generation parameters as notes or metadata.

Each format carries what it can of these (notes, comments, markers, metadata); the identity line is always
written, so a timeline can be matched back to StoryCanvas after an editor has worked on it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .timeline import TimelineClip

_PARAM_KEYS = ("model", "checkpoint", "seed", "steps", "cfg", "sampler", "scheduler", "width", "height", "workflow")


def params_summary(params: Mapping[str, Any]) -> str:
    """The generation parameters that tell how a result was made, as "seed=5, steps=20, …"."""
    parts = []
    for key in _PARAM_KEYS:
        value = params.get(key)
        if value is not None and value != "":
            parts.append(f"{key}={value}")
    loras = params.get("loras")
    if loras:
        parts.append("loras=" + json.dumps(loras, ensure_ascii=False, separators=(",", ":")))
    return ", ".join(parts)


def identity(clip: TimelineClip) -> str:
    """How a timeline is matched back to StoryCanvas after an editor has worked on it."""
    part = f" (part {clip.part})" if clip.part else ""
    return f"StoryCanvas clip {clip.clip_id}{part}, scene {clip.scene_id} “{clip.scene_name}”"


def one_line(text: str, limit: int = 0) -> str:
    flat = re.sub(r"\s+", " ", text or "").strip()
    if limit and len(flat) > limit:
        return flat[: limit - 1] + "…"
    return flat


def note_lines(clip: TimelineClip, include_metadata: bool, limit: int = 0) -> list[str]:
    """The identity line always; with metadata also the prompts, the notes and the generation parameters."""
    lines = [identity(clip)]
    if clip.placeholder:
        lines.append("No selected result yet: placeholder.")
    elif clip.still:
        lines.append("Still image (the selected image; no video selected yet).")
    if include_metadata:
        for label, text in (("Image prompt", clip.image_prompt), ("Video prompt", clip.video_prompt)):
            if text.strip():
                lines.append(f"{label}: {one_line(text, limit)}")
        if clip.notes.strip():
            lines.append(f"Notes: {one_line(clip.notes, limit)}")
        summary = params_summary(clip.params)
        if summary:
            lines.append(f"Generation: {one_line(summary, limit)}")
    return lines


def metadata_of(clip: TimelineClip, include_metadata: bool) -> dict[str, Any]:
    """The same as a dict, for formats with structured metadata (OTIO)."""
    found: dict[str, Any] = {
        "clip_id": clip.clip_id,
        "scene_id": clip.scene_id,
        "scene": clip.scene_name,
        "media": "none" if clip.media is None else clip.media.kind,
    }
    if clip.part:
        found["part"] = clip.part
    if include_metadata:
        found.update(
            image_prompt=clip.image_prompt,
            video_prompt=clip.video_prompt,
            notes=clip.notes,
            params=dict(clip.params),
        )
    return found


def safe_stem(text: str, fallback: str = "clip") -> str:
    """A file-name-safe form of a name: letters, digits, dashes."""
    stem = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:40]
    return stem or fallback
