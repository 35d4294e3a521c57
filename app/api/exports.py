"""Exports to editors and the import of a project export, over REST; the service checks ownership."""

from __future__ import annotations

import json
import unicodedata
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from app.services import exports
from app.services.exports import ExportOptions
from data.models import ProjectPublic, RowId

from .deps import SessionDep, UserDep

router = APIRouter(tags=["exports"])
WARNINGS_HEADER = "X-StoryCanvas-Warnings"
WARNINGS_COUNT_HEADER = "X-StoryCanvas-Warnings-Count"
# Proxies refuse big headers (nginx answers 502 past its 4–8 KB buffers): the header stays under this, and
# the full list is in the export preview's answer.
WARNINGS_HEADER_MAX = 1000
WARNING_MAX = 240


def warnings_headers(warnings: list[str]) -> dict[str, str]:
    """A JSON list (ASCII) of the first warnings that fit in WARNINGS_HEADER_MAX, each shortened to WARNING_MAX,
    a last entry saying how many were left out, and the full count in a header of its own."""
    shown: list[str] = []
    for index, warning in enumerate(warnings):
        text = warning if len(warning) <= WARNING_MAX else warning[: WARNING_MAX - 1] + "…"
        left = len(warnings) - index - 1
        more = [f"… and {left} more: the export preview lists them all."] if left else []
        if len(json.dumps([*shown, text, *more], ensure_ascii=True)) > WARNINGS_HEADER_MAX:
            shown.append(f"… and {len(warnings) - index} more: the export preview lists them all.")
            break
        shown.append(text)
    return {WARNINGS_HEADER: json.dumps(shown, ensure_ascii=True), WARNINGS_COUNT_HEADER: str(len(warnings))}


def attachment(filename: str) -> str:
    """Content-Disposition keeping a non-ASCII name (RFC 6266 `filename*`) with an ASCII fallback."""
    stem, dot, extension = filename.rpartition(".") if "." in filename else (filename, "", "")

    def ascii_only(text: str) -> str:
        plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return "".join(c if c.isalnum() or c in "._-" else "-" for c in plain).strip("-.")

    fallback = (ascii_only(stem) or "export") + dot + ascii_only(extension)
    if fallback == filename:
        return f'attachment; filename="{fallback}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.post(
    "/projects/{project_id}/exports",
    response_class=Response,
    responses={200: {"description": "The timeline file, or a zip with the media when `package` is true."}},
)
def export_project(project_id: RowId, options: ExportOptions, user: UserDep, session: SessionDep) -> Response:
    """The project's cut in an editor's format. Warnings (what the format cannot carry) come as a JSON list in
    the X-StoryCanvas-Warnings header: the first few, under 1 KB, with their number in
    X-StoryCanvas-Warnings-Count (the preview answers them all)."""
    exported = exports.export_project(session, user, project_id, options)
    headers = {"Content-Disposition": attachment(exported.filename), **warnings_headers(list(exported.warnings))}
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
    response.headers.update(warnings_headers(list(warnings)))
    return ProjectPublic.model_validate(project)
