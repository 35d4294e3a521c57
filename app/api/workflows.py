"""Workflow templates over REST; every route goes through the service's permission check.

Graphs and bindings are taken as any JSON here so the service can say what is wrong with them in words
(a UI-format export, a missing node) instead of a schema error.
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from app.services import workflows
from data.models import RowId, WorkflowCreate, WorkflowPublic, WorkflowUpdate

from .deps import SessionDep, UserDep
from .json_body import BoundedJsonRoute
from .row_lists import UnreadableRowPublic, rows_response

router = APIRouter(tags=["workflows"], route_class=BoundedJsonRoute)  # graphs are free-form JSON: depth-checked


class DuplicateRequest(BaseModel):
    name: str | None = None


class ServerSupportPublic(BaseModel):
    server_id: int
    server_name: str
    status: str
    problems: list[str]


@router.get("/workflows", response_model=list[WorkflowPublic | UnreadableRowPublic])
def list_workflows(user: UserDep, session: SessionDep, kind: str | None = None) -> Response:
    """Workflows as WorkflowPublic; a stored workflow that cannot be read comes last as {id, name, error}."""
    return rows_response(workflows.list_workflows(session, user, kind), WorkflowPublic, "workflow")


@router.post("/workflows", response_model=WorkflowPublic, status_code=status.HTTP_201_CREATED)
def create_workflow(data: WorkflowCreate, user: UserDep, session: SessionDep) -> WorkflowPublic:
    workflow = workflows.create_workflow(session, user, data.name, data.kind, data.graph, data.bindings)
    return WorkflowPublic.model_validate(workflow)


@router.get("/workflows/{workflow_id}", response_model=WorkflowPublic)
def get_workflow(workflow_id: RowId, user: UserDep, session: SessionDep) -> WorkflowPublic:
    return WorkflowPublic.model_validate(workflows.get_workflow(session, user, workflow_id))


@router.patch("/workflows/{workflow_id}", response_model=WorkflowPublic)
def update_workflow(workflow_id: RowId, data: WorkflowUpdate, user: UserDep, session: SessionDep) -> WorkflowPublic:
    workflow = workflows.update_workflow(
        session, user, workflow_id, name=data.name, kind=data.kind, graph=data.graph, bindings=data.bindings
    )
    return WorkflowPublic.model_validate(workflow)


@router.delete("/workflows/{workflow_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_workflow(workflow_id: RowId, user: UserDep, session: SessionDep) -> Response:
    workflows.delete_workflow(session, user, workflow_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/workflows/{workflow_id}/duplicate", response_model=WorkflowPublic, status_code=201)
def duplicate_workflow(
    workflow_id: RowId, user: UserDep, session: SessionDep, body: DuplicateRequest | None = None
) -> WorkflowPublic:
    copy = workflows.duplicate_workflow(session, user, workflow_id, body.name if body else None)
    return WorkflowPublic.model_validate(copy)


@router.get("/workflows/{workflow_id}/support", response_model=list[ServerSupportPublic])
def workflow_support(workflow_id: RowId, user: UserDep, session: SessionDep) -> list[ServerSupportPublic]:
    """Which enabled servers can run this workflow, and what each of the others lacks."""
    workflow = workflows.get_workflow(session, user, workflow_id)
    return [
        ServerSupportPublic(server_id=server.id, server_name=server.name, status=server.status, problems=problems)
        for server, problems in workflows.server_support(session, workflow)
    ]
