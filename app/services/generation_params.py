"""What one generation asks of a workflow: the values that bindings write into its graph.

Every field is optional so one shape serves all kinds (image, img2img, video, face swap): a workflow takes
the fields it has bindings for and ignores the rest. The limits are those a person could sensibly ask for,
tighter than ComfyUI's own, so a typo fails here with a clear message rather than on a GPU server.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from data.models.generation_fields import (
    MODEL_NAME_MAX,
    SEED_MAX,
    Denoise,
    Fps,
    Frames,
    LoraStrength,
    ModelName,
    SamplingFields,
)

MAX_SEED = SEED_MAX


class LoraSpec(BaseModel):
    name: str = Field(min_length=1, max_length=MODEL_NAME_MAX)
    strength: LoraStrength = 1.0


class GenerationParams(SamplingFields):
    prompt: str = ""
    # None keeps the workflow's own negative prompt (the built-ins carry a sensible one).
    negative_prompt: str | None = None
    checkpoint: ModelName | None = None
    loras: list[LoraSpec] = Field(default_factory=list)
    vae: ModelName | None = None
    # File names on the ComfyUI server (after POST /upload/image); the dispatcher sets them.
    init_image: ModelName | None = None
    denoise: Denoise | None = None
    face_image: ModelName | None = None
    frames: Frames | None = None
    fps: Fps | None = None
