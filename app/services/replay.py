"""Making a result again: the job that made it, re-queued with its exact graph, or with only a new seed."""

from __future__ import annotations

import copy
import random
from typing import Any

from sqlmodel import Session

from app.config import get_settings
from app.services import clips, events, gallery, generation, projects, workflow_graph
from data.errors import Invalid
from data.models import Clip, GenerationJob, User, WorkflowTemplate


def replay_item(session: Session, actor: User, item_id: int, *, new_seed: bool) -> list[GenerationJob]:
    """Same settings means the same resolved graph; a new seed is written only where the workflow binds the seed."""
    item = gallery.get_item(session, actor, item_id)
    source = session.get(GenerationJob, item.job_id) if item.job_id is not None else None
    if source is None or not source.resolved_graph:
        raise Invalid(
            f"Result #{item_id} has no stored job to replay (it was imported, or its job was removed): "
            "generate again from the Generate panel."
        )
    clip = clips.get_clip(session, actor, item.clip_id)
    graph = copy.deepcopy(source.resolved_graph)
    params: dict[str, Any] = {key: value for key, value in (source.params or {}).items() if key != "replay_of"}
    if new_seed:
        seed = random.randint(0, 2**32 - 1)
        _set_seed(session, source, graph, seed)
        params["seed"] = seed
    params["replay_of"] = item.id
    what = "with a new seed" if new_seed else "with the same settings"
    job = queue_copy(
        session, actor, source, clip, graph, params, f"Replayed result #{item_id} {what} for {clips.clip_name(clip)}"
    )
    return [job]


def queue_copy(
    session: Session,
    actor: User,
    source: GenerationJob,
    clip: Clip,
    graph: dict[str, Any],
    params: dict[str, Any],
    activity: str,
) -> GenerationJob:
    """The one way a replay is queued (from a result or from the history): the source's kind, workflow and
    priority, this graph and params, checked against the fleet before anything is stored."""
    generation.check_runnable(session, graph)
    job = GenerationJob(
        kind=source.kind,
        project_id=clip.project_id,
        clip_id=clip.id,
        owner_id=actor.id,  # type: ignore[arg-type]  # a stored row's id is never None
        workflow_id=source.workflow_id,
        priority=source.priority,
        max_attempts=get_settings().job_max_attempts,
        params=params,
        resolved_graph=graph,
        checkpoint=workflow_graph.main_checkpoint(graph) or source.checkpoint,
        required_models=workflow_graph.required_models(graph),
        required_nodes=workflow_graph.required_nodes(graph),
    )
    session.add(job)
    session.commit()
    session.refresh(job)
    projects.log_activity(session, clip.project_id, actor, "generate", activity)
    session.commit()
    events.emit(events.jobs_changed, clip.project_id)
    events.jobs_queued.emit()
    return job


def _set_seed(session: Session, source: GenerationJob, graph: dict[str, Any], seed: int) -> None:
    template = session.get(WorkflowTemplate, source.workflow_id) if source.workflow_id is not None else None
    targets = workflow_graph.binding_targets((template.bindings or {}).get("seed")) if template else []
    targets = [t for t in targets if str(t.get("node")) in graph and t.get("input") in graph[str(t["node"])]["inputs"]]
    if not targets:
        name = f"Workflow '{template.name}'" if template else "The workflow that made this result"
        raise Invalid(
            f"{name} has no seed binding, so a new seed cannot be set: "
            "use 'Replay with same settings', or bind the seed on the Workflows page."
        )
    for target in targets:
        inputs = graph[str(target["node"])]["inputs"]
        inputs[target["input"]] = seed
