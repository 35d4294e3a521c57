"""Generation history over REST: find, compare, count by model, export and replay past requests."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from app.services import generation_history, job_views
from data.models import JobPublic, RowId

from .deps import SessionDep, UserDep

router = APIRouter(tags=["history"])


class HistoryEntryPublic(JobPublic):
    project_name: str
    clip_label: str | None
    server_name: str | None
    workflow: str | None
    seed: int | None
    duration_s: float | None
    result_ids: list[int]


class ParamDiffPublic(BaseModel):
    param: str
    a: Any
    b: Any
    differs: bool


class ModelUsagePublic(BaseModel):
    checkpoint: str
    jobs: int
    completed: int
    failed: int
    median_duration_s: float | None
    last_used: datetime


@dataclass
class HistoryFilters:
    """The query parameters the list and the export share."""

    project_id: RowId | None = None
    clip_id: RowId | None = None
    checkpoint: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = Query(None, max_length=500)

    def entries(self, session: SessionDep, user: UserDep, limit: int) -> list[generation_history.HistoryEntry]:
        return generation_history.history_entries(session, user, **asdict(self), limit=limit)


FiltersDep = Annotated[HistoryFilters, Depends()]


@router.get("/history", response_model=list[HistoryEntryPublic])
def list_history(
    user: UserDep,
    session: SessionDep,
    filters: FiltersDep,
    limit: int = Query(generation_history.DEFAULT_LIMIT, ge=1, le=generation_history.MAX_LIMIT),
) -> list[HistoryEntryPublic]:
    return [HistoryEntryPublic.of(entry) for entry in filters.entries(session, user, limit)]


@router.get("/history/export")
def export_history(
    user: UserDep,
    session: SessionDep,
    filters: FiltersDep,
    format: Literal["csv", "json"] = "csv",
    limit: int = Query(generation_history.MAX_LIMIT, ge=1, le=generation_history.MAX_LIMIT),
) -> Response:
    """A file download of the filtered history: CSV for spreadsheets, JSON (with every parameter) for scripts."""
    entries = filters.entries(session, user, limit)
    if format == "csv":
        body, media_type = generation_history.export_csv(entries), "text/csv; charset=utf-8"
    else:
        body, media_type = generation_history.export_json(entries), "application/json"
    headers = {"Content-Disposition": f'attachment; filename="generation-history.{format}"'}
    return Response(content=body.encode("utf-8"), media_type=media_type, headers=headers)


@router.get("/history/compare", response_model=list[ParamDiffPublic])
def compare_history(a: int, b: int, user: UserDep, session: SessionDep) -> list[ParamDiffPublic]:
    return [ParamDiffPublic(**row._asdict()) for row in generation_history.compare(session, user, a, b)]


@router.get("/history/models", response_model=list[ModelUsagePublic])
def model_usage(
    user: UserDep,
    session: SessionDep,
    project_id: RowId | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[ModelUsagePublic]:
    found = generation_history.model_usage(session, user, project_id=project_id, since=since, until=until)
    return [ModelUsagePublic(**vars(usage)) for usage in found]


@router.post("/history/{job_id}/replay", response_model=JobPublic, status_code=201)
def replay(job_id: RowId, user: UserDep, session: SessionDep) -> JobPublic:
    """Queues a new job with the original's exact graph and seed; answers with it as /jobs shows jobs."""
    made = generation_history.replay_job(session, user, job_id)
    return JobPublic.of(job_views.job_view(session, user, made.id))  # type: ignore[arg-type]  # a stored row's id is never None
