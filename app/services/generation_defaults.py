"""What a project's generations start from: its defaults (Project.settings["generation"]) and named presets.

Defaults are edited on the project settings page and remembered by the generation dialog; presets are named
parameter sets (InferenceConfig rows of the project) a person saves and applies. Both are checked by one model,
so a value the dialog could not send is never stored.
"""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import Field, ValidationError
from sqlmodel import Session, col, select

from data.errors import Conflict, Invalid, NotFound
from data.models import ComfyServer, InferenceConfig, ModelEntry, Project, ServerModel, User
from data.models._common import utcnow
from data.models.generation_fields import (
    LORAS_MAX,
    SEED_MAX,
    ModelName,
    PromptText,
    SamplingFields,
    Variations,
)

from . import events, form_errors, projects
from .generation_params import LoraSpec

SEED_POLICIES: dict[str, str] = {
    "random": "Random",
    "increment": "Increment",
    "fixed": "Fixed",
}
MODES = ("image", "video", "both")
MAX_SEED = SEED_MAX
SETTINGS_KEY = "generation"
# What KSampler offers on a stock ComfyUI; a server with more still accepts any name typed in.
SAMPLERS = (
    "euler",
    "euler_ancestral",
    "heun",
    "dpm_2",
    "dpm_2_ancestral",
    "lms",
    "dpm_fast",
    "dpm_adaptive",
    "dpmpp_2s_ancestral",
    "dpmpp_sde",
    "dpmpp_2m",
    "dpmpp_2m_sde",
    "dpmpp_3m_sde",
    "ddim",
    "uni_pc",
    "lcm",
)
SCHEDULERS = ("normal", "karras", "exponential", "sgm_uniform", "simple", "ddim_uniform", "beta")
# InferenceConfig has columns for these; everything else of a preset lives in its params JSON.
PRESET_COLUMNS = ("sampler", "scheduler", "steps", "cfg", "width", "height", "seed_policy", "seed")


class GenerationDefaults(SamplingFields):
    """Every choice of the generation dialog that is not a prompt of a clip; None means "the workflow's own"."""

    mode: Literal["image", "video", "both"] = "image"
    workflow_id: int | None = None
    video_workflow_id: int | None = None
    base_model: str | None = Field(default=None, max_length=100)
    checkpoint: ModelName | None = None
    video_checkpoint: ModelName | None = None
    loras: list[LoraSpec] = Field(default_factory=list, max_length=LORAS_MAX)
    negative_prompt: PromptText | None = None
    seed_policy: Literal["random", "increment", "fixed"] = "random"
    variations: Variations = 1


FIELD_NAMES = tuple(GenerationDefaults.model_fields)


def _invalid(error: ValidationError) -> Invalid:
    return form_errors.invalid_from(error)


def parse_defaults(values: dict[str, Any]) -> GenerationDefaults:
    unknown = sorted(set(values) - set(FIELD_NAMES))
    if unknown:
        raise Invalid(f"Unknown generation setting {unknown[0]!r}.", field=unknown[0])
    try:
        return GenerationDefaults(**values)
    except ValidationError as error:
        raise _invalid(error) from error


def stored_defaults(settings: dict[str, Any] | None) -> GenerationDefaults:
    """What is stored, read leniently: a value a later rule would refuse falls back to its default."""
    stored = dict((settings or {}).get(SETTINGS_KEY) or {})
    known = {key: value for key, value in stored.items() if key in FIELD_NAMES}
    try:
        return GenerationDefaults(**known)
    except ValidationError:
        good: dict[str, Any] = {}
        for key, value in known.items():
            try:
                GenerationDefaults(**{key: value})
            except ValidationError:
                continue
            good[key] = value
        return GenerationDefaults(**good)


def generation_defaults(session: Session, actor: User, project_id: int) -> GenerationDefaults:
    project = projects.get_project(session, actor, project_id)
    return stored_defaults(project.settings)


def update_generation_defaults(session: Session, actor: User, project_id: int, **changes: Any) -> GenerationDefaults:
    """Only the named settings change; all are checked before any is stored."""
    project = projects.get_project(session, actor, project_id)
    current = stored_defaults(project.settings).model_dump()
    merged = parse_defaults({**current, **changes})
    settings = dict(project.settings or {})
    kept = {key: value for key, value in dict(settings.get(SETTINGS_KEY) or {}).items() if key not in FIELD_NAMES}
    settings[SETTINGS_KEY] = {**kept, **merged.model_dump()}
    project.settings = settings
    project.updated_at = utcnow()
    session.add(project)
    session.commit()
    events.emit(events.project_changed, project_id)
    return merged


def take_seeds(session: Session, project_id: int, start: int | None, count: int) -> list[int]:
    """Seeds for the "increment" policy: from `start`, else where the project's last generation stopped.

    The next start is stored (settings["generation"]["next_seed"]) so the dialog, batches and the API all continue
    one sequence. The caller commits.
    """
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound("This project no longer exists.")
    stored = dict((project.settings or {}).get(SETTINGS_KEY) or {})
    if start is None:
        remembered = stored.get("next_seed")
        start = remembered if isinstance(remembered, int) and 0 <= remembered <= MAX_SEED else None
    if start is None:
        start = random.randint(0, 2**32 - 1)
    seeds = [min(start + i, MAX_SEED) for i in range(count)]
    settings = dict(project.settings or {})
    settings[SETTINGS_KEY] = {**stored, "next_seed": min(seeds[-1] + 1, MAX_SEED)}
    project.settings = settings
    session.add(project)
    return seeds


def next_seed(settings: dict[str, Any] | None) -> int | None:
    value = ((settings or {}).get(SETTINGS_KEY) or {}).get("next_seed")
    return value if isinstance(value, int) else None


# --- presets ----------------------------------------------------------------------------------------


def _clean_name(name: str | None) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise Invalid("Give the preset a name.", field="name")
    if len(cleaned) > 200:
        raise Invalid("A preset name can be at most 200 characters.", field="name")
    return cleaned


def list_presets(session: Session, actor: User, project_id: int) -> list[InferenceConfig]:
    projects.get_project(session, actor, project_id)
    query = select(InferenceConfig).where(InferenceConfig.project_id == project_id)
    return list(session.exec(query.order_by(col(InferenceConfig.name), col(InferenceConfig.id))).all())


def get_preset(session: Session, actor: User, preset_id: int) -> InferenceConfig:
    preset = session.get(InferenceConfig, preset_id)
    if preset is None or preset.project_id is None:
        raise NotFound(f"Preset {preset_id} does not exist (it may have been deleted).")
    try:
        projects.get_project(session, actor, preset.project_id)
    except NotFound as error:
        raise NotFound(f"Preset {preset_id} does not exist (it may have been deleted).") from error
    return preset


def save_preset(
    session: Session, actor: User, project_id: int, name: str, values: dict[str, Any], *, replace: bool = False
) -> InferenceConfig:
    """A named copy of the dialog's settings; an existing name is a Conflict unless `replace` says overwrite."""
    projects.get_project(session, actor, project_id)
    cleaned = _clean_name(name)
    checked = parse_defaults(values).model_dump()
    existing = session.exec(
        select(InferenceConfig).where(InferenceConfig.project_id == project_id, InferenceConfig.name == cleaned)
    ).first()
    if existing is not None and not replace:
        raise Conflict(f"A preset named “{cleaned}” exists: choose another name, or overwrite it.", field="name")
    preset = existing or InferenceConfig(project_id=project_id, owner_id=actor.id, name=cleaned)
    for column in PRESET_COLUMNS:
        value = checked[column]
        if value is not None or column == "seed":
            setattr(preset, column, value)
    preset.base_model = checked["base_model"]
    preset.params = {key: value for key, value in checked.items() if key not in PRESET_COLUMNS}
    preset.params["set"] = sorted(key for key in PRESET_COLUMNS if checked[key] is not None)
    if existing is not None:
        preset.version += 1
    session.add(preset)
    session.commit()
    session.refresh(preset)
    return preset


def preset_values(preset: InferenceConfig) -> GenerationDefaults:
    """The dialog settings a preset holds; a column the preset never set stays "the workflow's own"."""
    params = dict(preset.params or {})
    chosen = set(params.pop("set", PRESET_COLUMNS))
    values = {key: value for key, value in params.items() if key in FIELD_NAMES}
    for column in PRESET_COLUMNS:
        if column in chosen or column == "seed_policy":
            values[column] = getattr(preset, column)
    values["base_model"] = preset.base_model
    return stored_defaults({SETTINGS_KEY: values})


def apply_preset(session: Session, actor: User, preset_id: int) -> GenerationDefaults:
    """The preset's values, for the dialog to load; nothing is stored (Save defaults does that)."""
    return preset_values(get_preset(session, actor, preset_id))


def delete_preset(session: Session, actor: User, preset_id: int) -> None:
    preset = get_preset(session, actor, preset_id)
    session.delete(preset)
    session.commit()


# --- what the fleet offers ----------------------------------------------------------------------------


def available_models(session: Session, kind: str, base_model: str | None = None) -> dict[str, list[str]]:
    """File name → names of the enabled, online servers that have it; optionally only one base model's files.

    Files whose base model is unknown are kept under a filter: a catalog rarely knows it, and hiding
    every model would be worse than showing one that may not fit.
    """
    query = (
        select(ModelEntry.file_name, ComfyServer.name)
        .join(ServerModel, col(ServerModel.model_id) == col(ModelEntry.id))
        .join(ComfyServer, col(ComfyServer.id) == col(ServerModel.server_id))
        .where(ModelEntry.kind == kind, col(ComfyServer.enabled).is_(True), ComfyServer.status == "online")
    )
    if base_model:
        query = query.where((col(ModelEntry.base_model) == base_model) | col(ModelEntry.base_model).is_(None))
    found: dict[str, list[str]] = {}
    for file_name, server_name in session.exec(query):
        found.setdefault(file_name, []).append(server_name)
    ordered = sorted(found.items(), key=lambda item: item[0].lower())
    return {name: sorted(set(servers), key=str.lower) for name, servers in ordered}


def base_models(session: Session) -> list[str]:
    """The base models (SD1.5, SDXL, …) known for checkpoints on enabled, online servers."""
    query = (
        select(ModelEntry.base_model)
        .join(ServerModel, col(ServerModel.model_id) == col(ModelEntry.id))
        .join(ComfyServer, col(ComfyServer.id) == col(ServerModel.server_id))
        .where(col(ModelEntry.base_model).is_not(None), col(ComfyServer.enabled).is_(True))
        .where(ComfyServer.status == "online")
        .distinct()
    )
    return sorted({value for value in session.exec(query) if value}, key=str.lower)
