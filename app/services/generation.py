"""Turning a clip's generation request into queued jobs, each with the exact graph it will run.

The graph is resolved here, at request time, so the job carries everything needed to replay
it; only a video made from an image that does not exist yet (mode "both") is resolved when
its image arrives, by the dispatcher, through `finish_dependent_graph`.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError
from sqlmodel import Session, col, select

from app.config import get_settings
from app.services import (
    clips,
    events,
    form_errors,
    generation_defaults,
    input_images,
    projects,
    prompt_compose,
    workflow_graph,
    workflows,
)
from app.services.generation_params import GenerationParams, LoraSpec
from app.services.input_images import InputImageRef
from app.services.scenes import media_path
from data.errors import DomainError, Invalid
from data.models import (
    PRIORITY_MAX,
    PRIORITY_MIN,
    BodyId,
    Clip,
    ComfyServer,
    GalleryItem,
    GenerationJob,
    ModelEntry,
    ServerModel,
    User,
    WorkflowTemplate,
)
from data.models.generation_fields import (
    LORAS_MAX,
    MODEL_NAME_MAX,
    SEED_MAX,
    ModelName,
    PromptText,
    SamplingFields,
    Variations,
)
from data.words import counted

MAX_SEED = SEED_MAX
# The LoadImage value an uploaded init/face image gets on a server: named by content, so the
# stored graph replays exactly and an identical upload is harmless.
UPLOAD_SUBFOLDER = "storycanvas"


class GenerationSettings(SamplingFields):
    """What one generation asks for, apart from a clip's own texts and image: shared by a single clip's
    request and a batch's settings, so their fields and limits are declared once."""

    mode: Literal["image", "video", "both"] = "image"
    workflow_id: BodyId | None = None
    # None: the workflow's own (a workflow without a checkpoint binding, such as an upscale, loads none to choose).
    checkpoint: str | None = Field(default=None, min_length=1, max_length=MODEL_NAME_MAX)
    loras: list[LoraSpec] = Field(default_factory=list, max_length=LORAS_MAX)
    negative_prompt: PromptText | None = None
    variations: Variations = 1
    video_workflow_id: BodyId | None = None
    video_checkpoint: ModelName | None = None
    # None keeps the original rule: no seed → random per variation, a seed → counts up per variation.
    # "increment" continues the project's sequence across requests when no seed is given.
    seed_policy: Literal["fixed", "random", "increment"] | None = None
    # The pictures an image-to-image or face-swap workflow starts from (and, in mode "video", the picture to
    # animate instead of the clip's selected image): {"upload_id": "<32 hex>"} or {"item_id": <result id>}.
    init_image: InputImageRef | None = None
    face_image: InputImageRef | None = None


class GenerateRequest(GenerationSettings):
    """POST /api/v1/clips/{id}/generate — the REST contract."""

    # In mode "video", `prompt` is the video's; None: the clip's own prompt.
    prompt: PromptText | None = None
    priority: int = Field(default=0, ge=PRIORITY_MIN, le=PRIORITY_MAX)
    init_item_id: BodyId | None = None
    # The video's prompt in mode "both" (in mode "video", `prompt` is the video's); None: the clip's.
    video_prompt: PromptText | None = None


def parse_request(**values: Any) -> GenerateRequest:
    try:
        return GenerateRequest(**values)
    except ValidationError as error:
        raise form_errors.invalid_from(error) from error


def upload_name(path: Path) -> str:
    """The server-side name of an uploaded image: its content hash, so replays name the same file."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:32]
    return f"{UPLOAD_SUBFOLDER}/{digest}{path.suffix.lower() or '.png'}"


def _pick_workflow(session: Session, actor: User, workflow_id: int | None, kind: str) -> WorkflowTemplate:
    if workflow_id is None:
        return workflows.default_workflow(session, kind)
    template = workflows.get_workflow(session, actor, workflow_id)
    allowed = {"image": {"image", "img2img", "faceswap"}, "video": {"video"}}[kind]
    if template.kind not in allowed:
        raise Invalid(
            f"Workflow '{template.name}' makes {template.kind} results; "
            f"pick {'an image' if kind == 'image' else 'a video'} workflow for this mode.",
            field="workflow_id",
        )
    return template


def _init_image(session: Session, clip: Clip, item_id: int | None) -> GalleryItem | None:
    """The image a video starts from: the chosen one, else the clip's selected image."""
    query = select(GalleryItem).where(GalleryItem.clip_id == clip.id, GalleryItem.kind == "image")
    if item_id is not None:
        item = session.exec(query.where(GalleryItem.id == item_id)).first()
        if item is None:
            raise Invalid(f"Result {item_id} is not an image of this clip.", field="init_item_id")
        return item
    return session.exec(query.where(GalleryItem.selected == True)).first()  # noqa: E712


INPUT_WORDS = {"init_image": "the picture it starts from", "face_image": "the face to put in"}


def _require_checkpoint(template: WorkflowTemplate, checkpoint: str | None) -> None:
    """A workflow that loads a chosen checkpoint needs one named; one that loads none (no binding) runs without."""
    if checkpoint is None and "checkpoint" in (template.bindings or {}):
        raise Invalid(
            f"The workflow “{template.name}” loads a model: choose one its loader lists on a server.",
            field="checkpoint",
        )


def _input_images(session: Session, clip: Clip, template: WorkflowTemplate, request: GenerateRequest) -> dict[str, Any]:
    """The params naming the pictures a workflow loads; Invalid when it loads one and none was given.

    Without this the graph would keep its placeholder (example.png), which a real ComfyUI has in its input
    folder: the job would succeed with the wrong picture."""
    found: dict[str, Any] = {}
    for name in ("init_image", "face_image"):
        if name not in (template.bindings or {}):
            continue
        ref: InputImageRef | None = getattr(request, name)
        if ref is None:
            raise Invalid(
                f"The workflow “{template.name}” needs {INPUT_WORDS[name]}: upload a picture or pick a result "
                "of the project.",
                field=name,
            )
        stored, path = input_images.resolve(session, clip.project_id, ref, name)
        found[name] = upload_name(path)
        found[f"{name}_path"] = stored
    return found


RANDOM_SEED_MAX = 2**32 - 1


def random_seed_limit(session: Session, templates: list[WorkflowTemplate]) -> int:
    """Random seeds stay within what the workflows' seed inputs take on every enabled server."""
    specs = [specs for _, specs in workflows.servers_with_specs(session)]
    limit = RANDOM_SEED_MAX
    for template in templates:
        limit = min(limit, workflow_graph.seed_limit(template.graph, template.bindings, specs, RANDOM_SEED_MAX))
    return limit


def _seeded_templates(session: Session, actor: User, request: GenerateRequest) -> list[WorkflowTemplate]:
    """The workflows a request's seeds go into (both of mode "both")."""
    found = []
    if request.mode in ("image", "both"):
        found.append(_pick_workflow(session, actor, request.workflow_id, "image"))
    if request.mode in ("video", "both"):
        chosen = request.video_workflow_id if request.mode == "both" else request.workflow_id
        found.append(_pick_workflow(session, actor, chosen, "video"))
    return found


def _seeds(
    session: Session, project_id: int, request: GenerateRequest, templates: list[WorkflowTemplate] | None = None
) -> list[int]:
    """A given seed counts up per variation (identical graphs would come back from ComfyUI's cache); random
    seeds are drawn within the range the bound seed inputs take."""
    policy = request.seed_policy
    if policy == "random" or (policy is None and request.seed is None):
        limit = random_seed_limit(session, templates or [])
        return [random.randint(0, limit) for _ in range(request.variations)]
    if policy == "increment":
        return generation_defaults.take_seeds(session, project_id, request.seed, request.variations)
    if request.seed is None:
        raise Invalid("A fixed seed needs a number: enter a seed, or choose random.", field="seed")
    return [min(request.seed + i, MAX_SEED) for i in range(request.variations)]


def _composed(session: Session, clip: Clip, text: str | None, target: prompt_compose.Target) -> str | None:
    return None if text is None else prompt_compose.compose_for_clip(session, clip, text, target)


def _base_params(request: GenerateRequest, width: int, height: int) -> dict[str, Any]:
    """What every job of one request shares; the size defaults to the project's frame, fitted."""
    return {
        "negative_prompt": request.negative_prompt,
        "loras": [lora.model_dump() for lora in request.loras],
        "steps": request.steps,
        "cfg": request.cfg,
        "sampler": request.sampler,
        "scheduler": request.scheduler,
        "width": request.width or width,
        "height": request.height or height,
    }


def _snap(size: int) -> int:
    return max(64, int(size) // 8 * 8)


def _fit(width: int, height: int) -> tuple[int, int]:
    """A project's frame scaled to what diffusion models like: longest side ≤ 1024, multiples of 8."""
    scale = min(1.0, 1024 / max(width, height))
    return _snap(int(width * scale)), _snap(int(height * scale))


def build_job(
    *,
    template: WorkflowTemplate,
    params: dict[str, Any],
    kind: str,
    clip: Clip,
    owner_id: int,
    priority: int,
    depends_on: GenerationJob | None = None,
) -> GenerationJob:
    """A queued job; its graph is resolved now unless it waits for another job's image."""
    job = GenerationJob(
        kind=kind,
        project_id=clip.project_id,
        clip_id=clip.id,
        owner_id=owner_id,
        workflow_id=template.id,
        priority=priority,
        max_attempts=get_settings().job_max_attempts,
        params={**params, "workflow": template.name, "workflow_kind": template.kind},
        checkpoint=params.get("checkpoint"),
    )
    if depends_on is None:
        set_graph(job, template.graph, template.bindings)
    else:
        job.depends_on_id = depends_on.id
        job.required_nodes = workflow_graph.required_nodes(template.graph)
    return job


def set_graph(job: GenerationJob, graph: dict[str, Any], bindings: dict[str, Any]) -> None:
    values = {key: value for key, value in job.params.items() if key in GenerationParams.model_fields}
    resolved = workflow_graph.resolve_graph(graph, bindings, GenerationParams(**values))
    job.resolved_graph = resolved
    job.checkpoint = workflow_graph.main_checkpoint(resolved) or job.params.get("checkpoint")
    job.required_models = workflow_graph.required_models(resolved)
    job.required_nodes = workflow_graph.required_nodes(resolved)


def _fleet_key(graph: dict[str, Any]) -> tuple[object, ...]:
    """What the fleet check looks at in a graph: its node classes and the model files it loads."""
    models = tuple(sorted((m["kind"], m["file_name"]) for m in workflow_graph.required_models(graph)))
    return tuple(workflow_graph.required_nodes(graph)), models


def check_runnable(session: Session, graph: dict[str, Any], *, passed: set[tuple[object, ...]] | None = None) -> None:
    """Before anything is queued: some enabled server must have the graph's nodes and models.

    Servers whose catalog was never read are given the benefit of the doubt; offline servers
    count, since a job may wait for one to come back. `passed` remembers graphs that passed, so a
    batch asks the fleet once per kind of graph rather than once per job.
    """
    key = _fleet_key(graph) if passed is not None else None
    if passed is not None and key in passed:
        return
    servers = session.exec(select(ComfyServer).where(ComfyServer.enabled == True)).all()  # noqa: E712
    if not servers:
        raise Invalid("No ComfyUI server is enabled: add one (or enable one) on the Servers page first.")
    problems: list[str] = []
    for server in servers:
        models = None
        if server.catalog_refreshed_at is not None:
            models = server_models(session, server.id)  # type: ignore[arg-type]  # a stored row's id is never None
        specs = workflows.node_specs(session, server)
        found = workflow_graph.problems_on_server(graph, set(server.node_types), models, specs=specs)
        if not found or (models is None and not server.node_types):
            if passed is not None:
                passed.add(key)  # type: ignore[arg-type]  # key is set whenever passed is given
            return
        problems.append(f"{server.name}: {'; '.join(found)}")
    raise Invalid("No enabled server can run this generation. " + " · ".join(problems))


def server_models(session: Session, server_id: int) -> dict[str, set[str]]:
    rows = session.exec(
        select(ModelEntry.kind, ModelEntry.file_name)
        .join(ServerModel, col(ServerModel.model_id) == ModelEntry.id)
        .where(ServerModel.server_id == server_id)
    ).all()
    found: dict[str, set[str]] = {}
    for kind, file_name in rows:
        found.setdefault(kind, set()).add(file_name)
    return found


def empty_prompt_warning(clip: Clip, mode: str) -> str | None:
    """A clip whose prompt for this mode is empty: it can be generated, but the model gets no description,
    which is rarely meant. Forms show it before anything is queued."""
    image_empty = not (clip.image_prompt or "").strip()
    video_empty = not (clip.video_prompt or "").strip()
    if mode in ("image", "both") and image_empty:
        return "The image prompt is empty: the picture would be drawn without a description. Write one first."
    if mode in ("video", "both") and video_empty:
        return "The video prompt is empty: the motion would be made without a description. Write one first."
    return None


def queue_clip_jobs(
    session: Session,
    actor: User,
    clip: Clip,
    request: GenerateRequest,
    *,
    batch_id: int | None = None,
    passed: set[tuple[object, ...]] | None = None,
) -> list[GenerationJob]:
    """One clip's jobs, built and checked against the fleet, added and flushed but not committed: one per
    variation (and, for mode "both", a video job after each image job).

    A single clip's Generate and a batch both queue through here, so they share every rule. On Invalid
    some of the clip's jobs may already be in the session: the caller rolls back.
    """
    project = projects.get_project(session, actor, clip.project_id)
    width, height = _fit(project.width, project.height)
    base = _base_params(request, width, height)
    base["negative_prompt"] = _composed(session, clip, request.negative_prompt, "negative")
    created: list[GenerationJob] = []
    seeds = _seeds(session, clip.project_id, request, _seeded_templates(session, actor, request))
    if request.mode in ("image", "both"):
        image_template = _pick_workflow(session, actor, request.workflow_id, "image")
        text = request.prompt if request.prompt is not None else clip.image_prompt
        prompt = prompt_compose.compose_for_clip(session, clip, text, "image")
        _require_checkpoint(image_template, request.checkpoint)
        pictures = _input_images(session, clip, image_template, request)
        for seed in seeds:
            params = {**base, **pictures, "prompt": prompt, "seed": seed}
            if request.checkpoint is not None:
                params["checkpoint"] = request.checkpoint
            job = build_job(
                template=image_template,
                params=params,
                kind="faceswap" if image_template.kind == "faceswap" else "image",
                clip=clip,
                owner_id=actor.id,  # type: ignore[arg-type]  # a stored row's id is never None
                priority=request.priority,
            )
            job.batch_id = batch_id
            check_runnable(session, job.resolved_graph or {}, passed=passed)
            session.add(job)
            created.append(job)
        session.flush()
    if request.mode in ("video", "both"):
        chosen = request.video_workflow_id if request.mode == "both" else request.workflow_id
        video_template = _pick_workflow(session, actor, chosen, "video")
        video_text = request.prompt if request.mode == "video" else request.video_prompt
        if video_text is None:
            video_text = request.video_prompt if request.video_prompt is not None else clip.video_prompt
        video_prompt = prompt_compose.compose_for_clip(session, clip, video_text, "video")
        checkpoint = request.video_checkpoint or (request.checkpoint if request.mode == "video" else None)
        if request.mode == "video":
            _require_checkpoint(video_template, checkpoint)
        sources: list[GenerationJob | None] = list(created) if request.mode == "both" else [None] * len(seeds)
        chosen_picture: dict[str, Any] = {}
        if request.mode == "video" and request.init_image is not None:
            chosen_picture = _input_images(session, clip, video_template, request)
        init = None if request.mode == "both" or chosen_picture else _init_image(session, clip, request.init_item_id)
        if request.mode == "video" and init is None and not chosen_picture:
            raise Invalid("This clip has no selected image to animate: generate or select an image first.")
        for seed, source in zip(seeds, sources, strict=True):
            params = {**base, **chosen_picture, "prompt": video_prompt, "seed": seed}
            if checkpoint:
                params["checkpoint"] = checkpoint
            if init is not None:
                path = media_path(init.file_path)
                if path is None or not path.is_file():
                    raise Invalid("The selected image's file is missing: select another image or generate one.")
                params["init_image"] = upload_name(path)
                params["init_image_path"] = init.file_path
                params["init_item_id"] = init.id
            job = build_job(
                template=video_template,
                params=params,
                kind="video",
                clip=clip,
                owner_id=actor.id,  # type: ignore[arg-type]  # a stored row's id is never None
                priority=request.priority,
                depends_on=source,
            )
            job.batch_id = batch_id
            if job.resolved_graph is not None:
                check_runnable(session, job.resolved_graph, passed=passed)
            session.add(job)
            created.append(job)
        session.flush()
    return created


def create_generation(session: Session, actor: User, clip_id: int, request: GenerateRequest) -> list[GenerationJob]:
    """A single clip's request: its jobs queued, committed and announced (nothing is stored when one is refused)."""
    clip = clips.get_clip(session, actor, clip_id)
    try:
        created = queue_clip_jobs(session, actor, clip, request)
    except DomainError:
        session.rollback()
        raise
    session.commit()
    for job in created:
        session.refresh(job)
    projects.log_activity(
        session,
        clip.project_id,
        actor,
        "generate",
        f"Queued {counted(len(created), 'job')} for {clips.clip_name(clip)}",
    )
    session.commit()
    events.emit(events.jobs_changed, clip.project_id)
    events.jobs_queued.emit()
    return created


def finish_dependent_graph(session: Session, job: GenerationJob, source_item: GalleryItem) -> None:
    """A "both" video job: its image exists now, so its graph can be resolved (and stored)."""
    template = session.get(WorkflowTemplate, job.workflow_id) if job.workflow_id else None
    if template is None:
        template = workflows.default_workflow(session, "video")
    path = media_path(source_item.file_path)
    if path is None:
        raise Invalid("The image this video starts from is missing.")
    job.params = {
        **job.params,
        "init_image": upload_name(path),
        "init_image_path": source_item.file_path,
        "init_item_id": source_item.id,
    }
    set_graph(job, template.graph, template.bindings)
