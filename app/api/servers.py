"""REST routes for servers; every route goes through its service's permission check."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from app.services import server_catalog, server_health, servers, workflow_models
from app.services.servers import ServerCreate, ServerPublic, ServerUpdate
from data.models import RowId

from .deps import SessionDep, UserDep

router = APIRouter(tags=["servers"])


class ConnectionTestPublic(BaseModel):
    ok: bool
    kind: str | None
    message: str
    version: str | None


class CatalogPublic(BaseModel):
    checkpoints: list[str]
    loras: list[str]
    vaes: list[str]
    embeddings: list[str]
    upscalers: list[str]


@router.get("/servers", response_model=list[ServerPublic])
def list_servers(user: UserDep, session: SessionDep) -> list[ServerPublic]:
    return servers.public_servers(session, user)


@router.post("/servers", response_model=ServerPublic, status_code=status.HTTP_201_CREATED)
def create_server(data: ServerCreate, user: UserDep, session: SessionDep) -> ServerPublic:
    return servers.public_server(servers.create_server(session, user, data))


@router.get("/servers/{server_id}", response_model=ServerPublic)
def get_server(server_id: RowId, user: UserDep, session: SessionDep) -> ServerPublic:
    return servers.public_server_of(session, user, server_id)


@router.patch("/servers/{server_id}", response_model=ServerPublic)
def update_server(server_id: RowId, data: ServerUpdate, user: UserDep, session: SessionDep) -> ServerPublic:
    servers.update_server(session, user, server_id, data)
    return servers.public_server_of(session, user, server_id)


@router.delete("/servers/{server_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_server(server_id: RowId, user: UserDep, session: SessionDep) -> Response:
    servers.delete_server(session, user, server_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/servers/{server_id}/test", response_model=ConnectionTestPublic)
async def test_server(server_id: RowId, user: UserDep, session: SessionDep) -> ConnectionTestPublic:
    session.close()  # the user is loaded; no database connection is held while the server is asked
    result = await server_health.test_server(user, server_id)
    return ConnectionTestPublic(ok=result.ok, kind=result.kind, message=result.message, version=result.version)


@router.post("/servers/{server_id}/catalog/refresh", response_model=CatalogPublic)
async def refresh_catalog(server_id: RowId, user: UserDep, session: SessionDep) -> CatalogPublic:
    session.close()  # as above: the catalog can take seconds to arrive
    return CatalogPublic(**await server_catalog.refresh_catalog(server_id, user))


@router.get("/servers/{server_id}/catalog", response_model=CatalogPublic)
def get_catalog(
    server_id: RowId, user: UserDep, session: SessionDep, workflow_id: RowId | None = None
) -> CatalogPublic:
    """With `workflow_id`, `checkpoints` lists what that workflow's checkpoint loader can load on this server
    (none for a workflow that loads no model)."""
    if workflow_id is not None:
        return CatalogPublic(**workflow_models.server_catalog_for(session, user, server_id, workflow_id))
    return CatalogPublic(**server_catalog.server_catalog(session, user, server_id))
