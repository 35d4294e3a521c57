"""Generation parameters' limits, declared once.

A single clip's request, a batch's settings, a project's defaults and presets, the parameters stored with
each job and the generation forms all take their types from here, so "steps" means 1–200 everywhere. The
limits are those a person could sensibly ask for, tighter than ComfyUI's own, so a typo fails with a clear
message rather than on a GPU server.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

SEED_MAX = 2**53 - 1  # the largest integer a browser's JSON keeps exactly
STEPS_MIN, STEPS_MAX = 1, 200
CFG_MIN, CFG_MAX = 0.0, 30.0
SIZE_MIN, SIZE_MAX, SIZE_STEP = 64, 8192, 8
VARIATIONS_MAX = 16
LORAS_MAX = 20
LORA_STRENGTH_MIN, LORA_STRENGTH_MAX = -5.0, 5.0
MODEL_NAME_MAX = 500
SAMPLER_NAME_MAX = 100
PROMPT_MAX = 10_000
FRAMES_MAX = 1000
FPS_MIN, FPS_MAX = 1.0, 120.0

Seed = Annotated[int, Field(ge=0, le=SEED_MAX)]
Steps = Annotated[int, Field(ge=STEPS_MIN, le=STEPS_MAX)]
Cfg = Annotated[float, Field(ge=CFG_MIN, le=CFG_MAX)]
Size = Annotated[int, Field(ge=SIZE_MIN, le=SIZE_MAX, multiple_of=SIZE_STEP)]
Variations = Annotated[int, Field(ge=1, le=VARIATIONS_MAX)]
ModelName = Annotated[str, Field(max_length=MODEL_NAME_MAX)]
SamplerName = Annotated[str, Field(max_length=SAMPLER_NAME_MAX)]
LoraStrength = Annotated[float, Field(ge=LORA_STRENGTH_MIN, le=LORA_STRENGTH_MAX)]
PromptText = Annotated[str, Field(max_length=PROMPT_MAX)]
Frames = Annotated[int, Field(ge=1, le=FRAMES_MAX)]
Fps = Annotated[float, Field(ge=FPS_MIN, le=FPS_MAX)]
Denoise = Annotated[float, Field(ge=0, le=1)]


class SamplingFields(BaseModel):
    """The sampler's settings every generation shape carries (a request, a batch, a project's defaults, the
    parameters stored with a job), by one set of names; None keeps the workflow's own."""

    seed: Seed | None = None
    steps: Steps | None = None
    cfg: Cfg | None = None
    sampler: SamplerName | None = None
    scheduler: SamplerName | None = None
    width: Size | None = None
    height: Size | None = None
