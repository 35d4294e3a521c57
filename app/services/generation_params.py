"""What one generation asks of a workflow: the values that bindings write into its graph.

Every field is optional so one shape serves all kinds (image, img2img, video, face swap): a workflow takes
the fields it has bindings for and ignores the rest. The limits are those a person could sensibly ask for,
tighter than ComfyUI's own, so a typo fails here with a clear message rather than on a GPU server.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

MAX_SEED = 2**53  # the largest integer a browser's JSON keeps exactly


class LoraSpec(BaseModel):
    name: str = Field(min_length=1, max_length=500)
    strength: float = Field(default=1.0, ge=-5, le=5)


class GenerationParams(BaseModel):
    prompt: str = ""
    # None keeps the workflow's own negative prompt (the built-ins carry a sensible one).
    negative_prompt: str | None = None
    checkpoint: str | None = Field(default=None, max_length=500)
    loras: list[LoraSpec] = Field(default_factory=list)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    steps: int | None = Field(default=None, ge=1, le=200)
    cfg: float | None = Field(default=None, ge=0, le=30)
    sampler: str | None = Field(default=None, max_length=100)
    scheduler: str | None = Field(default=None, max_length=100)
    width: int | None = Field(default=None, ge=64, le=8192, multiple_of=8)
    height: int | None = Field(default=None, ge=64, le=8192, multiple_of=8)
    vae: str | None = Field(default=None, max_length=500)
    # File names on the ComfyUI server (after POST /upload/image); the dispatcher sets them.
    init_image: str | None = Field(default=None, max_length=500)
    denoise: float | None = Field(default=None, ge=0, le=1)
    face_image: str | None = Field(default=None, max_length=500)
    frames: int | None = Field(default=None, ge=1, le=1000)
    fps: float | None = Field(default=None, ge=1, le=120)
