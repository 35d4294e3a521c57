"""The pictures a generation starts from: uploads checked and kept in the project's media folder, or results.

An image-to-image or face-swap workflow loads its pictures through LoadImage; if nothing is bound there, a real
ComfyUI loads whatever its input folder holds under the placeholder name (its sample picture) and the job
"succeeds" with the wrong picture. So a job of such a workflow names its pictures here, and the dispatcher
uploads them to the server before queueing (app/dispatch/comfy_backend.py).

An upload is decoded for real before anything is written: a file whose content is not the picture its name
claims (a renamed text file, a JPEG called .png) and a decompression bomb are refused, and nothing is left on
disk. The camera's EXIF orientation is applied (ComfyUI would otherwise see a sideways photo in some loaders).
Uploads are named by their content, so the same picture uploaded twice is stored once and its id is stable.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from pydantic import BaseModel, Field, model_validator
from sqlmodel import Session, col, select

from app.config import get_settings
from data.errors import Invalid, NotFound, TooLarge
from data.models import BodyId, Clip, GalleryItem, User

from . import projects
from .media_store import project_media_dir
from .scenes import media_path

INPUTS_FOLDER = "inputs"
MAX_UPLOAD_BYTES = 40 * 2**20
# Diffusion models work at one or two megapixels; a 50-megapixel phone photo is the most anyone should need.
# Decoded whole (RGBA) that is 200 MB, so bigger claims are refused before a pixel is decoded.
MAX_INPUT_PIXELS = 50_000_000
# The name's suffix → the format the content must be; anything else is refused whatever it contains.
SUFFIX_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
FORMAT_SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}
FORMAT_LABELS = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP"}
ACCEPTED = "a PNG, JPEG or WebP picture"
UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
_ORIENTATION = 0x0112


class InputImageRef(BaseModel):
    """Which picture a job starts from: an upload of the project (`upload_id`, as the upload route returned it)
    or any image result of the project (`item_id`, a gallery item id). Exactly one of the two."""

    upload_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    item_id: BodyId | None = None

    @model_validator(mode="after")
    def _one(self) -> InputImageRef:
        if (self.upload_id is None) == (self.item_id is None):
            raise ValueError("give either upload_id (an uploaded picture) or item_id (a result), not both")
        return self


@dataclass(frozen=True)
class InputImage:
    id: str
    filename: str  # the name it was uploaded under, for people; the file on disk is named by its content
    width: int
    height: int
    stored: str  # relative to the media folder, as GalleryItem.file_path is

    def public(self, project_id: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "filename": self.filename,
            "width": self.width,
            "height": self.height,
            "url": f"/api/v1/projects/{project_id}/input-images/{self.id}/file",
        }


def inputs_dir(project_id: int) -> Path:
    return project_media_dir(project_id) / INPUTS_FOLDER


def _clean_filename(filename: str | None) -> str:
    name = Path(str(filename or "")).name  # a path sent as the name keeps only its last part
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:200] or "image"


def _refuse(filename: str, reason: str) -> Invalid:
    return Invalid(f"“{filename}” {reason}: upload {ACCEPTED}.", field="file")


def check_upload(filename: str, data: bytes) -> tuple[bytes, str, int, int]:
    """The bytes to store (turned upright), their format and size; Invalid saying why a file is refused.

    Nothing is written here, so a refusal leaves nothing behind."""
    suffix = Path(filename).suffix.lower()
    expected = SUFFIX_FORMATS.get(suffix)
    if expected is None:
        raise _refuse(filename, f"has the extension “{suffix or '(none)'}”, which is not accepted")
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge(f"“{filename}” is larger than the {MAX_UPLOAD_BYTES // 2**20} MB accepted for an input image.")
    if not data:
        raise _refuse(filename, "is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data), formats=list(FORMAT_SUFFIX))
            found = picture.format or ""
            width, height = picture.size
            if width * height > MAX_INPUT_PIXELS:
                raise _refuse(
                    filename,
                    f"is {width}×{height} pixels; input images may have at most "
                    f"{MAX_INPUT_PIXELS // 1_000_000} megapixels",
                )
            if found != expected:
                raise _refuse(
                    filename,
                    f"is called {suffix} but holds a {FORMAT_LABELS.get(found, found)} picture (a renamed file?)",
                )
            picture.load()
    except UnidentifiedImageError:
        raise _refuse(filename, f"is not a picture, whatever its name says ({suffix})") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise _refuse(filename, "claims more pixels than any picture may have (a decompression bomb?)") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise _refuse(filename, f"is cut short or damaged ({error})") from None
    if picture.getexif().get(_ORIENTATION, 1) not in (1, None):
        upright = ImageOps.exif_transpose(picture)
        out = io.BytesIO()
        if found == "JPEG":
            upright.convert("RGB").save(out, "JPEG", quality=95)
        elif found == "WEBP":
            upright.save(out, "WEBP", lossless=True)
        else:
            upright.save(out, "PNG")
        data, (width, height) = out.getvalue(), upright.size
    return data, found, width, height


def store_upload(session: Session, actor: User, project_id: int, filename: str | None, data: bytes) -> InputImage:
    """A checked picture in the project's inputs folder (written whole, then renamed into place)."""
    projects.get_project(session, actor, project_id)
    name = _clean_filename(filename)
    content, found, width, height = check_upload(name, data)
    digest = hashlib.sha256(content).hexdigest()[:32]
    folder = inputs_dir(project_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{digest}{FORMAT_SUFFIX[found]}"
    if not target.exists():
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(content)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    (folder / f"{digest}.json").write_text(json.dumps({"filename": name}), encoding="utf-8")
    return _described(project_id, target, name, width, height)


def _relative(path: Path) -> str:
    return path.resolve().relative_to(get_settings().media_dir.resolve()).as_posix()


def _described(project_id: int, path: Path, name: str | None, width: int, height: int) -> InputImage:
    return InputImage(path.stem, name or path.name, width, height, _relative(path))


def _find(project_id: int, upload_id: str) -> Path | None:
    if not UPLOAD_ID.match(upload_id):
        return None
    folder = inputs_dir(project_id)
    for suffix in FORMAT_SUFFIX.values():
        path = folder / f"{upload_id}{suffix}"
        if path.is_file():
            return path
    return None


def _read(project_id: int, path: Path) -> InputImage:
    try:
        meta = json.loads((path.with_suffix(".json")).read_text(encoding="utf-8"))
        name = str(meta.get("filename") or "") or None
    except (OSError, ValueError, AttributeError):
        name = None
    try:
        with Image.open(path) as picture:
            width, height = picture.size
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError):
        width = height = 0
    return _described(project_id, path, name, width, height)


def get_upload(session: Session, actor: User, project_id: int, upload_id: str) -> InputImage:
    """Another user's project, or an id the project has no upload for, is NotFound in the same words."""
    projects.get_project(session, actor, project_id)
    path = _find(project_id, upload_id)
    if path is None:
        raise NotFound(f"Input image {upload_id} does not exist in this project.")
    return _read(project_id, path)


def list_uploads(session: Session, actor: User, project_id: int) -> list[InputImage]:
    """The project's uploads, newest first."""
    projects.get_project(session, actor, project_id)
    folder = inputs_dir(project_id)
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.suffix in FORMAT_SUFFIX.values() and UPLOAD_ID.match(p.stem)]
    found.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return [_read(project_id, path) for path in found]


def resolve(session: Session, project_id: int, ref: InputImageRef, field: str) -> tuple[str, Path]:
    """The stored path (relative to the media folder) and file of a reference, checked to belong to the project
    (the caller has checked the actor may use the project)."""
    if ref.upload_id is not None:
        path = _find(project_id, ref.upload_id)
        if path is None:
            raise Invalid(f"Input image {ref.upload_id} is not an upload of this project.", field=field)
        return _relative(path), path
    item = session.get(GalleryItem, ref.item_id)
    if item is None or item.project_id != project_id or item.kind != "image":
        raise Invalid(f"Result {ref.item_id} is not an image of this project.", field=field)
    file = media_path(item.file_path)  # results were decoded and checked when they were stored
    if file is None or not file.is_file():
        raise Invalid(f"The file of result {ref.item_id} is missing: pick another image.", field=field)
    return item.file_path, file


@dataclass(frozen=True)
class PictureChoice:
    """One picture a person can start from, as a picker offers it."""

    ref: dict[str, Any]  # an InputImageRef as JSON
    label: str
    url: str  # its thumbnail


PICK_LIMIT = 200  # the newest; older results are still reachable over REST by id


def picture_choices(session: Session, actor: User, project_id: int) -> list[PictureChoice]:
    """The project's uploads, then its image results (newest first), for a picker."""
    from .clips import clip_name

    choices = [
        PictureChoice(
            {"upload_id": image.id},
            f"{image.filename} · {image.width}×{image.height} · uploaded",
            image.public(project_id)["url"],
        )
        for image in list_uploads(session, actor, project_id)[:PICK_LIMIT]
    ]
    query = (
        select(GalleryItem, Clip)
        .join(Clip, col(Clip.id) == col(GalleryItem.clip_id))
        .where(GalleryItem.project_id == project_id, GalleryItem.kind == "image")
        .order_by(col(GalleryItem.created_at).desc(), col(GalleryItem.id).desc())
        .limit(PICK_LIMIT)
    )
    for item, clip in session.exec(query):
        size = f" · {item.width}×{item.height}" if item.width and item.height else ""
        choices.append(
            PictureChoice(
                {"item_id": item.id},
                f"Result #{item.id} · {clip_name(clip)}{size}" + (" · selected" if item.selected else ""),
                f"/api/v1/gallery/{item.id}/thumbnail",
            )
        )
    return choices
