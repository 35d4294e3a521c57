"""The generation queue over REST: outside scripts rely on these shapes, so fields are only ever added."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from fastapi import status as http_status
from fastapi.responses import FileResponse
from pydantic import BaseModel

from app.services import job_views, jobs
from data.errors import NotFound
from data.models import BodyId, JobDetailPublic, JobPublic, RowId

from .deps import SessionDep, UserDep, ViewerDep

router = APIRouter(tags=["jobs"])


class BulkRequest(BaseModel):
    project_id: BodyId | None = None


class BulkResult(BaseModel):
    count: int


@router.get("/jobs", response_model=list[JobPublic])
def list_jobs(
    user: UserDep,
    session: SessionDep,
    status: str | None = None,
    project_id: RowId | None = None,
    clip_id: RowId | None = None,
    server_id: RowId | None = None,
    limit: int = Query(500, ge=1, le=5000),
) -> list[JobPublic]:
    found = job_views.list_jobs(
        session, user, status=status, project_id=project_id, clip_id=clip_id, server_id=server_id, limit=limit
    )
    return [JobPublic.of(view) for view in found]


@router.post("/jobs/cancel-all", response_model=BulkResult)
def cancel_all(user: UserDep, session: SessionDep, body: BulkRequest | None = None) -> BulkResult:
    return BulkResult(count=jobs.cancel_all(session, user, project_id=body.project_id if body else None))


@router.post("/jobs/retry-failed", response_model=BulkResult)
def retry_failed(user: UserDep, session: SessionDep, body: BulkRequest | None = None) -> BulkResult:
    return BulkResult(count=jobs.retry_failed(session, user, project_id=body.project_id if body else None))


@router.post("/jobs/clear-completed", response_model=BulkResult)
def clear_completed(user: UserDep, session: SessionDep, body: BulkRequest | None = None) -> BulkResult:
    return BulkResult(count=jobs.clear_completed(session, user, project_id=body.project_id if body else None))


@router.get("/jobs/{job_id}", response_model=JobDetailPublic)
def get_job(job_id: RowId, user: UserDep, session: SessionDep) -> JobDetailPublic:
    details = job_views.job_details(session, user, job_id)
    return JobDetailPublic(
        **JobPublic.of(details).model_dump(),
        resolved_graph=details.resolved_graph,
        gallery_item_ids=details.gallery_item_ids,
    )


@router.post("/jobs/{job_id}/cancel", response_model=JobPublic)
def cancel_job(job_id: RowId, user: UserDep, session: SessionDep) -> JobPublic:
    jobs.cancel_job(session, user, job_id)
    return JobPublic.of(job_views.job_view(session, user, job_id))


@router.post("/jobs/{job_id}/retry", response_model=JobPublic)
def retry_job(job_id: RowId, user: UserDep, session: SessionDep) -> JobPublic:
    jobs.retry_job(session, user, job_id)
    return JobPublic.of(job_views.job_view(session, user, job_id))


@router.delete("/jobs/{job_id}", status_code=http_status.HTTP_204_NO_CONTENT)
def delete_job(job_id: RowId, user: UserDep, session: SessionDep) -> Response:
    jobs.delete_job(session, user, job_id)
    return Response(status_code=http_status.HTTP_204_NO_CONTENT)


@router.get("/jobs/{job_id}/preview", response_class=FileResponse)
def job_preview(job_id: RowId, user: ViewerDep, session: SessionDep) -> FileResponse:
    """The running job's latest preview frame; pages load it in an <img> with the session cookie."""
    job = job_views.get_job(session, user, job_id)
    path = job_views.preview_file(job)
    if path is None:
        raise NotFound(f"Job {job_id} has no live preview: the server sends one while the job runs; try again then.")
    return FileResponse(path, headers={"Cache-Control": "no-store"})
