"""Asking for results: POST /clips/{id}/generate queues one job per variation."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.services import generation, job_views
from app.services.generation import GenerateRequest
from data.models import JobPublic, RowId

from .deps import SessionDep, UserDep

router = APIRouter(tags=["jobs"])


@router.post("/clips/{clip_id}/generate", response_model=list[JobPublic], status_code=status.HTTP_201_CREATED)
def generate(clip_id: RowId, body: GenerateRequest, user: UserDep, session: SessionDep) -> list[JobPublic]:
    created = generation.create_generation(session, user, clip_id, body)
    return [JobPublic.of(view) for view in job_views.job_views(session, created)]
