"""Pictures a generation starts from: uploaded into a project, listed, and served back for its previews."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, UploadFile, status
from fastapi.responses import FileResponse

from app.services import input_images
from app.services.scenes import media_path
from data.errors import NotFound
from data.models import RowId

from .deps import SessionDep, UserDep, ViewerDep

router = APIRouter(tags=["input images"])


@router.post("/projects/{project_id}/input-images", status_code=status.HTTP_201_CREATED)
def upload_input_image(project_id: RowId, file: UploadFile, user: UserDep, session: SessionDep) -> dict[str, Any]:
    """multipart/form-data with one `file` (PNG, JPEG or WebP); the answer's `id` is what a generation request
    names as `{"upload_id": id}` in `init_image` or `face_image`."""
    data = file.file.read(input_images.MAX_UPLOAD_BYTES + 1)  # a worker thread: decoding must not stall pages
    stored = input_images.store_upload(session, user, project_id, file.filename, data)
    return stored.public(project_id)


@router.get("/projects/{project_id}/input-images")
def list_input_images(project_id: RowId, user: UserDep, session: SessionDep) -> list[dict[str, Any]]:
    return [image.public(project_id) for image in input_images.list_uploads(session, user, project_id)]


@router.get("/projects/{project_id}/input-images/{upload_id}/file")
def input_image_file(project_id: RowId, upload_id: str, user: ViewerDep, session: SessionDep) -> FileResponse:
    image = input_images.get_upload(session, user, project_id, upload_id)
    path = media_path(image.stored)
    if path is None or not path.is_file():
        raise NotFound(f"Input image {upload_id} does not exist in this project.")
    return FileResponse(path, headers={"Cache-Control": "private, max-age=31536000, immutable"})
