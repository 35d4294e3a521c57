"""Generation history: every request with its settings and outcome, for finding, comparing and replaying.

A request is a GenerationJob row; its results are the GalleryItems that name it. Who may see which
request is job_views' rule (scope_to_visible / get_job), so the history never shows a job the queue
would hide. A replay is a new job carrying the original's resolved graph unchanged: same seed, same
models, same prompt, whatever the clip or the workflow template say today.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import String, cast, func, or_
from sqlmodel import Session, col, select

from app.services import clips, job_views, projects, replay, unreadable_rows
from data.errors import Invalid, NotFound
from data.models import JOB_STATUSES, Clip, GalleryItem, GenerationJob, User

DEFAULT_LIMIT = 500
MAX_LIMIT = 5000
# The settings people compare first; any other parameter follows in name order.
PARAM_ORDER = (
    "kind",
    "workflow",
    "workflow_kind",
    "checkpoint",
    "prompt",
    "negative_prompt",
    "seed",
    "steps",
    "cfg",
    "sampler",
    "scheduler",
    "width",
    "height",
    "loras",
    "init_image",
)
EXPORT_COLUMNS = (
    "id",
    "created_at",
    "started_at",
    "finished_at",
    "duration_s",
    "status",
    "kind",
    "project_id",
    "project_name",
    "clip_id",
    "clip_label",
    "server_name",
    "checkpoint",
    "workflow",
    "seed",
    "steps",
    "cfg",
    "sampler",
    "scheduler",
    "width",
    "height",
    "prompt",
    "negative_prompt",
    "loras",
    "error",
    "result_ids",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class HistoryEntry(job_views.JobView):
    """One request as the history shows it: the queue's view plus what it asked for and what it made."""

    workflow: str | None = None
    seed: int | None = None
    result_ids: list[int] = field(default_factory=list)


class ParamDiff(NamedTuple):
    param: str
    a: Any
    b: Any
    differs: bool


@dataclass
class ModelUsage:
    """How one checkpoint has been used: the numbers behind "which model do we actually rely on"."""

    checkpoint: str
    jobs: int
    completed: int
    failed: int
    median_duration_s: float | None
    last_used: datetime


# --- reading --------------------------------------------------------------------------------------


def _aware(moment: datetime | None) -> datetime | None:
    """Dates without a zone are read as UTC, the zone every time is stored in."""
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _check_range(since: datetime | None, until: datetime | None) -> tuple[datetime | None, datetime | None]:
    since, until = _aware(since), _aware(until)
    if since is not None and until is not None and since > until:
        raise Invalid("The date range ends before it starts: swap “from” and “to”.", field="until")
    return since, until


def _text_condition(text: str):
    """Matches the prompt and every other parameter, the checkpoint and the error message.

    Parameters are stored as JSON, which escapes non-ASCII letters; the escaped spelling is searched too.
    """
    needles = {text, json.dumps(text)[1:-1]}
    columns = (cast(GenerationJob.params, String), col(GenerationJob.checkpoint), col(GenerationJob.error))
    return or_(*(column.ilike(f"%{_escape_like(needle)}%", escape="\\") for needle in needles for column in columns))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(
    query,
    actor: User,
    *,
    project_id: int | None,
    clip_id: int | None,
    checkpoint: str | None,
    status: str | None,
    since: datetime | None,
    until: datetime | None,
    text: str | None,
):
    query = job_views.scope_to_visible(query, actor, project_id)
    if clip_id is not None:
        query = query.where(GenerationJob.clip_id == clip_id)
    if checkpoint:
        query = query.where(GenerationJob.checkpoint == checkpoint)
    if status is not None:
        query = query.where(GenerationJob.status == status)
    if since is not None:
        query = query.where(col(GenerationJob.created_at) >= since)
    if until is not None:
        query = query.where(col(GenerationJob.created_at) <= until)
    if text and text.strip():
        query = query.where(_text_condition(text.strip()))
    return query


def _check_filters(session: Session, actor: User, project_id: int | None, status: str | None) -> None:
    if status is not None and status not in JOB_STATUSES:
        raise Invalid(f"Unknown status “{status}”: use one of {', '.join(JOB_STATUSES)}.", field="status")
    if project_id is not None:
        projects.get_project(session, actor, project_id)


def history_entries(
    session: Session,
    actor: User,
    *,
    project_id: int | None = None,
    clip_id: int | None = None,
    checkpoint: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    text: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[HistoryEntry]:
    """The actor's requests, newest first, matching every filter given; dates bound the request time."""
    _check_filters(session, actor, project_id, status)
    since, until = _check_range(since, until)
    query = _filtered(
        select(GenerationJob),
        actor,
        project_id=project_id,
        clip_id=clip_id,
        checkpoint=checkpoint,
        status=status,
        since=since,
        until=until,
        text=text,
    )
    query = query.order_by(col(GenerationJob.created_at).desc(), col(GenerationJob.id).desc())
    # a row nobody can read (written past the checks) is left out, not a broken page for everyone
    found = unreadable_rows.load_each(session, query.limit(max(0, min(limit, MAX_LIMIT))), GenerationJob)
    return _entries(session, found)


def _entries(session: Session, found: list[GenerationJob]) -> list[HistoryEntry]:
    results: dict[int, list[int]] = {}
    for chunk in job_views.id_slices(job.id for job in found if job.id is not None):
        rows = session.exec(
            select(GalleryItem.job_id, GalleryItem.id)
            .where(col(GalleryItem.job_id).in_(chunk))
            .order_by(col(GalleryItem.id))
        )
        for job_id, item_id in rows:
            if job_id is not None and item_id is not None:
                results.setdefault(job_id, []).append(item_id)
    entries = []
    for view in job_views.job_views(session, found):
        seed = view.params.get("seed")
        entries.append(
            HistoryEntry(
                **vars(view),
                workflow=view.params.get("workflow"),
                seed=seed if isinstance(seed, int) else None,
                result_ids=results.get(view.id, []),
            )
        )
    return entries


def history_entry(session: Session, actor: User, job_id: int) -> HistoryEntry:
    return _entries(session, [job_views.get_job(session, actor, job_id)])[0]


def checkpoints_used(session: Session, actor: User) -> list[str]:
    """Every checkpoint the actor's requests named, for the filter's choices."""
    query = job_views.scope_to_visible(select(GenerationJob.checkpoint).distinct(), actor, None)
    query = query.where(col(GenerationJob.checkpoint).is_not(None))
    return sorted(name for name in session.exec(query) if name)


# --- comparing ------------------------------------------------------------------------------------


def _graph_digest(graph: dict[str, Any] | None) -> str | None:
    """A short fingerprint of the graph sent: equal fingerprints mean the same work was asked for."""
    if graph is None:
        return None
    return hashlib.sha256(json.dumps(graph, sort_keys=True).encode()).hexdigest()[:12]


def _settings(job: GenerationJob) -> dict[str, Any]:
    values: dict[str, Any] = {
        "kind": job.kind,
        "checkpoint": job.checkpoint,
        "project_id": job.project_id,
        "clip_id": job.clip_id,
        "workflow_id": job.workflow_id,
        "priority": job.priority,
    }
    for name, value in (job.params or {}).items():
        if name == "checkpoint" and value == job.checkpoint:
            continue
        values[name if name not in values else f"params.{name}"] = value
    values["resolved_graph"] = _graph_digest(job.resolved_graph)
    return values


def _param_rank(name: str) -> tuple[int, str]:
    return (PARAM_ORDER.index(name), name) if name in PARAM_ORDER else (len(PARAM_ORDER), name)


def compare(session: Session, actor: User, a_id: int, b_id: int) -> list[ParamDiff]:
    """Both requests' settings side by side, one row per parameter either of them has."""
    if a_id == b_id:
        raise Invalid("Pick two different requests to compare.", field="b")
    a = _settings(job_views.get_job(session, actor, a_id))
    b = _settings(job_views.get_job(session, actor, b_id))
    names = sorted(set(a) | set(b), key=_param_rank)
    return [ParamDiff(name, a.get(name), b.get(name), a.get(name) != b.get(name)) for name in names]


# --- model usage ----------------------------------------------------------------------------------


def model_usage(
    session: Session,
    actor: User,
    *,
    project_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[ModelUsage]:
    """Per checkpoint, the most used first: requests, outcomes, the median run time, and when it was last asked for."""
    _check_filters(session, actor, project_id, None)
    since, until = _check_range(since, until)
    query = _filtered(
        select(GenerationJob.checkpoint, GenerationJob.status, GenerationJob.created_at, GenerationJob.started_at)
        .add_columns(col(GenerationJob.finished_at))
        .where(col(GenerationJob.checkpoint).is_not(None)),
        actor,
        project_id=project_id,
        clip_id=None,
        checkpoint=None,
        status=None,
        since=since,
        until=until,
        text=None,
    )
    grouped: dict[str, dict[str, Any]] = {}
    for checkpoint, status, created_at, started_at, finished_at in session.exec(query):
        usage = grouped.setdefault(checkpoint, {"jobs": 0, "completed": 0, "failed": 0, "durations": [], "last": None})
        usage["jobs"] += 1
        usage["completed"] += status == "completed"
        usage["failed"] += status == "failed"
        if status == "completed" and started_at is not None and finished_at is not None:
            usage["durations"].append((_aware(finished_at) - _aware(started_at)).total_seconds())  # type: ignore[operator]  # both times were checked for None just above
        created = _aware(created_at)
        if usage["last"] is None or created > usage["last"]:
            usage["last"] = created
    found = [
        ModelUsage(
            checkpoint=name,
            jobs=usage["jobs"],
            completed=usage["completed"],
            failed=usage["failed"],
            median_duration_s=round(statistics.median(usage["durations"]), 1) if usage["durations"] else None,
            last_used=usage["last"],
        )
        for name, usage in grouped.items()
    ]
    return sorted(found, key=lambda usage: (-usage.jobs, usage.checkpoint))


# --- export ---------------------------------------------------------------------------------------


def _export_row(entry: HistoryEntry) -> dict[str, Any]:
    params = entry.params
    return {
        "id": entry.id,
        "created_at": entry.created_at.isoformat(),
        "started_at": entry.started_at.isoformat() if entry.started_at else None,
        "finished_at": entry.finished_at.isoformat() if entry.finished_at else None,
        "duration_s": entry.duration_s,
        "status": entry.status,
        "kind": entry.kind,
        "project_id": entry.project_id,
        "project_name": entry.project_name,
        "clip_id": entry.clip_id,
        "clip_label": entry.clip_label,
        "server_name": entry.server_name,
        "checkpoint": entry.checkpoint,
        "workflow": entry.workflow,
        "seed": entry.seed,
        "steps": params.get("steps"),
        "cfg": params.get("cfg"),
        "sampler": params.get("sampler"),
        "scheduler": params.get("scheduler"),
        "width": params.get("width"),
        "height": params.get("height"),
        "prompt": params.get("prompt"),
        "negative_prompt": params.get("negative_prompt"),
        "loras": params.get("loras") or [],
        "error": entry.error,
        "result_ids": entry.result_ids,
    }


def _csv_cell(value: Any) -> str:
    """Lists as JSON; text a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def export_csv(rows: list[HistoryEntry]) -> str:
    """One line per request with its main settings; spreadsheets open it as is."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for entry in rows:
        values = _export_row(entry)
        writer.writerow([_csv_cell(values[name]) for name in EXPORT_COLUMNS])
    return buffer.getvalue()


def export_json(rows: list[HistoryEntry]) -> str:
    """Every request with all of its parameters, for scripts."""
    return json.dumps(
        [{**_export_row(entry), "params": entry.params} for entry in rows], ensure_ascii=False, indent=2, default=str
    )


# --- replay ---------------------------------------------------------------------------------------


def _replay_clip(session: Session, actor: User, job: GenerationJob) -> Clip:
    gone = Invalid(
        f"Job {job.id}'s clip no longer exists, so there is nowhere to put a replay: "
        "generate on another clip with the same settings instead."
    )
    if job.clip_id is None:
        raise gone
    try:
        return clips.get_clip(session, actor, job.clip_id)
    except NotFound:
        raise gone from None


def replay_job(session: Session, actor: User, job_id: int) -> GenerationJob:
    """A new queued job sending exactly the original's graph (same seed), for the same clip and workflow."""
    job = job_views.get_job(session, actor, job_id)
    clip = _replay_clip(session, actor, job)
    if job.resolved_graph is None:
        raise Invalid(
            f"Job {job_id} never got its final graph (it waited for an image that was not made), "
            "so there is nothing exact to replay: generate the clip again instead."
        )
    return replay.queue_copy(
        session,
        actor,
        job,
        clip,
        copy.deepcopy(job.resolved_graph),
        {**copy.deepcopy(job.params or {}), "replay_of": job.id},
        f"Replayed job {job_id} on {clips.clip_name(clip)}",
    )


def count_entries(session: Session, actor: User, **filters: Any) -> int:
    """How many requests match, to say when a list was cut at its limit."""
    _check_filters(session, actor, filters.get("project_id"), filters.get("status"))
    since, until = _check_range(filters.pop("since", None), filters.pop("until", None))
    defaults = dict.fromkeys(("project_id", "clip_id", "checkpoint", "status", "text"))
    query = _filtered(
        select(func.count()).select_from(GenerationJob), actor, **{**defaults, **filters}, since=since, until=until
    )
    return int(session.exec(query).one())
