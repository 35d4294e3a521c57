"""Batches over REST: many clips of a project queued with one setup, estimated first, followed and retried."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel

from app.services import batch_views, batches
from app.services.batch_views import BatchSummary, BatchView
from app.services.batches import BatchEstimate, BatchRequest
from data.models import RowId

from .deps import SessionDep, UserDep

router = APIRouter(tags=["batches"])


class BatchRetryResult(BaseModel):
    count: int
    batch: BatchView


@router.post("/projects/{project_id}/batches", response_model=BatchView, status_code=status.HTTP_201_CREATED)
def create_batch(project_id: RowId, body: BatchRequest, user: UserDep, session: SessionDep) -> BatchView:
    batch = batches.create_batch(session, user, project_id, body)
    return batch_views.batch_status(session, user, batch.id)  # type: ignore[arg-type]  # a stored row's id is never None


@router.post("/projects/{project_id}/batches/estimate", response_model=BatchEstimate)
def estimate_batch(project_id: RowId, body: BatchRequest, user: UserDep, session: SessionDep) -> BatchEstimate:
    return batches.estimate_batch(session, user, project_id, body)


@router.get("/projects/{project_id}/batches", response_model=list[BatchSummary])
def list_batches(project_id: RowId, user: UserDep, session: SessionDep) -> list[BatchSummary]:
    return batch_views.list_batches(session, user, project_id)


@router.get("/batches/{batch_id}", response_model=BatchView)
def get_batch(batch_id: RowId, user: UserDep, session: SessionDep) -> BatchView:
    return batch_views.batch_status(session, user, batch_id)


@router.post("/batches/{batch_id}/retry-failed", response_model=BatchRetryResult)
def retry_failed(batch_id: RowId, user: UserDep, session: SessionDep) -> BatchRetryResult:
    count = batches.retry_failed(session, user, batch_id)
    return BatchRetryResult(count=count, batch=batch_views.batch_status(session, user, batch_id))
