"""Exports to editors and the import of a project export, over REST; the service checks ownership."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from app.services import exports
from app.services.exports import ExportOptions
from data.models import ProjectPublic, RowId

from .deps import SessionDep, UserDep

router = APIRouter(tags=["exports"])
WARNINGS_HEADER = "X-StoryCanvas-Warnings"


@router.post(
    "/projects/{project_id}/exports",
    response_class=Response,
    responses={200: {"description": "The timeline file, or a zip with the media when `package` is true."}},
)
def export_project(project_id: RowId, options: ExportOptions, user: UserDep, session: SessionDep) -> Response:
    """The project's cut in an editor's format. Warnings (what the format cannot carry) come as a JSON list in
    the X-StoryCanvas-Warnings header."""
    exported = exports.export_project(session, user, project_id, options)
    headers = {
        "Content-Disposition": f'attachment; filename="{exported.filename}"',
        WARNINGS_HEADER: json.dumps(exported.warnings, ensure_ascii=True),
    }
    return Response(exported.content, media_type=exported.media_type, headers=headers)


@router.post("/projects/{project_id}/exports/preview")
def preview_export(
    project_id: RowId, options: ExportOptions, user: UserDep, session: SessionDep, limit: int = 500
) -> dict[str, Any]:
    """What the export will hold (tracks, clips, gaps, durations, warnings) without writing it."""
    return exports.preview(session, user, project_id, options, item_limit=max(0, min(limit, 100_000)))


@router.post("/projects/import", response_model=ProjectPublic, status_code=status.HTTP_201_CREATED)
async def import_project(request: Request, user: UserDep, session: SessionDep, response: Response) -> ProjectPublic:
    """A new project from a StoryCanvas JSON export (the body is the exported file). Files that could not be
    brought along are reported in the X-StoryCanvas-Warnings header."""
    body = await request.body()
    project, warnings = await run_in_threadpool(exports.import_project, session, user, body)
    response.headers[WARNINGS_HEADER] = json.dumps(warnings, ensure_ascii=True)
    return ProjectPublic.model_validate(project)
