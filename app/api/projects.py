"""Projects over REST; every route goes through the service's ownership check."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from app.services import projects
from data.models import ProjectCreate, ProjectPublic, ProjectUpdate, RowId

from .deps import SessionDep, UserDep
from .row_lists import UnreadableRowPublic, rows_response

router = APIRouter(tags=["projects"])


class DuplicateRequest(BaseModel):
    name: str | None = None


class ProjectStatsPublic(BaseModel):
    scenes: int
    clips: int
    generated_items: int
    clips_with_selection: int
    completion_percent: float


@router.get("/projects", response_model=list[ProjectPublic | UnreadableRowPublic])
def list_projects(
    user: UserDep,
    session: SessionDep,
    q: str = "",
    tag: str | None = None,
    sort: Literal["name", "updated", "created"] = "updated",
    archived: Literal["active", "archived", "all"] = "active",
) -> Response:
    """Projects as ProjectPublic; a stored project that cannot be read comes last as {id, name, error}."""
    found = projects.list_projects(session, user, text=q, tag=tag, sort=sort, archived=archived)
    return rows_response(found, ProjectPublic, "project")


@router.post("/projects", response_model=ProjectPublic, status_code=status.HTTP_201_CREATED)
def create_project(data: ProjectCreate, user: UserDep, session: SessionDep) -> ProjectPublic:
    return ProjectPublic.model_validate(projects.create_project(session, user, data))


@router.get("/projects/{project_id}", response_model=ProjectPublic)
def get_project(project_id: RowId, user: UserDep, session: SessionDep) -> ProjectPublic:
    return ProjectPublic.model_validate(projects.get_project(session, user, project_id))


@router.patch("/projects/{project_id}", response_model=ProjectPublic)
def update_project(project_id: RowId, data: ProjectUpdate, user: UserDep, session: SessionDep) -> ProjectPublic:
    return ProjectPublic.model_validate(projects.update_project(session, user, project_id, data))


@router.delete("/projects/{project_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_project(project_id: RowId, user: UserDep, session: SessionDep) -> Response:
    projects.delete_project(session, user, project_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/projects/{project_id}/duplicate", response_model=ProjectPublic, status_code=201)
def duplicate_project(project_id: RowId, body: DuplicateRequest, user: UserDep, session: SessionDep) -> ProjectPublic:
    return ProjectPublic.model_validate(projects.duplicate_project(session, user, project_id, body.name))


@router.get("/projects/{project_id}/stats", response_model=ProjectStatsPublic)
def project_stats(project_id: RowId, user: UserDep, session: SessionDep) -> ProjectStatsPublic:
    stats = projects.project_stats(session, user, project_id)
    return ProjectStatsPublic(**vars(stats), completion_percent=stats.completion_percent)
