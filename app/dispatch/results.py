"""Storing what a finished prompt produced: files by content hash, WebP thumbnails, gallery items.

The files, the gallery rows and the job's "completed" are one step: rows and status commit in
one transaction, and files are named by their hash, so a crash at any point followed by a
second look at the server's history stores nothing twice.
"""

from __future__ import annotations

import hashlib
import io
import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps
from sqlmodel import Session, col, select

from app.config import get_settings
from app.services import media_store
from data.models import ComfyServer, GalleryItem, GenerationJob, WorkflowTemplate
from data.models._common import utcnow

from .claims import ACTIVE

log = logging.getLogger("storycanvas.dispatch")

THUMBNAIL_SIZE = (480, 480)
VIDEO_SUFFIXES = {".mp4", ".webm", ".mov", ".mkv", ".gif", ".avi", ".m4v"}


@dataclass
class Output:
    """One downloaded output file of a prompt."""

    node_id: str
    filename: str
    media: str  # image | video
    data: bytes


@dataclass
class Stored:
    items: list[int]
    completed: bool


def _relative(path: Path) -> str:
    return path.relative_to(get_settings().media_dir).as_posix()


def _poster_frame(path: Path) -> Image.Image | None:
    """The first frame of a video: Pillow reads animated WebP/GIF; other containers go through ffmpeg."""
    try:
        return Image.open(path).convert("RGB")
    except Exception:  # not an image container: ask ffmpeg
        pass
    try:
        import imageio_ffmpeg

        completed = subprocess.run(
            [
                imageio_ffmpeg.get_ffmpeg_exe(),
                "-v",
                "error",
                "-i",
                str(path),
                "-frames:v",
                "1",
                "-f",
                "image2pipe",
                "-vcodec",
                "png",
                "-",
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
        if completed.returncode != 0 or not completed.stdout:
            return None
        return Image.open(io.BytesIO(completed.stdout)).convert("RGB")
    except Exception as error:
        log.warning("No poster frame for %s: %s", path.name, error)
        return None


def _video_duration(path: Path) -> float | None:
    try:
        import imageio_ffmpeg

        _frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
        return float(seconds)
    except Exception:
        return None


def _write_media(folder: Path, output: Output) -> tuple[str, str | None, int | None, int | None, float | None, str]:
    """(file, thumbnail, width, height, duration, hash) — written once per content."""
    digest = hashlib.sha256(output.data).hexdigest()
    suffix = Path(output.filename).suffix.lower() or (".png" if output.media == "image" else ".mp4")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{digest[:24]}{suffix}"
    if not target.exists():
        partial = target.with_suffix(target.suffix + ".part")
        partial.write_bytes(output.data)
        partial.replace(target)
    thumbs = folder / "thumbs"
    thumbs.mkdir(exist_ok=True)
    thumb_path = thumbs / f"{digest[:24]}.webp"
    width = height = None
    duration = None
    picture: Image.Image | None
    if output.media == "video":
        picture = _poster_frame(target)
        duration = _video_duration(target)
    else:
        try:
            picture = ImageOps.exif_transpose(Image.open(target)).convert("RGB")
        except Exception as error:
            log.warning("Result %s is not a readable image: %s", output.filename, error)
            picture = None
    thumbnail = None
    if picture is not None:
        width, height = picture.size
        if not thumb_path.exists():
            picture.thumbnail(THUMBNAIL_SIZE, Image.Resampling.LANCZOS)
            picture.save(thumb_path, "WEBP", quality=80)
        thumbnail = _relative(thumb_path)
    return _relative(target), thumbnail, width, height, duration, digest


SHOWN = (
    "prompt",
    "negative_prompt",
    "checkpoint",
    "seed",
    "steps",
    "cfg",
    "sampler",
    "scheduler",
    "width",
    "height",
    "denoise",
    "frames",
    "fps",
)


def values_in_graph(graph: dict[str, Any], bindings: dict[str, Any]) -> dict[str, Any]:
    """What the graph really ran with, read through the workflow's bindings (its defaults included)."""
    from app.services.workflow_graph import binding_targets

    found: dict[str, Any] = {}
    for name in SHOWN:
        for target in binding_targets(bindings.get(name)):
            value = (graph.get(str(target.get("node"))) or {}).get("inputs", {}).get(target.get("input"))
            if value is not None and not isinstance(value, list):
                found[name] = value
                break
    return found


def metadata(
    job: GenerationJob, server_name: str | None, output: Output, bindings: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What the gallery shows of how a result was made (and what "replay" reads)."""
    params = {key: value for key, value in (job.params or {}).items() if value is not None}
    params = {**values_in_graph(job.resolved_graph or {}, bindings or {}), **params}
    duration = None
    if job.started_at is not None:
        duration = round((utcnow() - job.started_at).total_seconds(), 2)
    found = {key: params[key] for key in (*SHOWN, "loras", "workflow") if params.get(key) is not None}
    found.update(
        model=job.checkpoint or params.get("checkpoint"),
        server=server_name,
        duration_s=duration,
        job_id=job.id,
        prompt_id=job.remote_prompt_id,
        output_node=output.node_id,
        source_file=output.filename,
    )
    return found


def store_results(job_id: int, prompt_id: str, server_name: str | None, outputs: list[Output]) -> Stored:
    """Files first (idempotent), then gallery rows and the job's completion in one commit."""
    from data.engine import session_scope

    with session_scope() as session:
        job = session.get(GenerationJob, job_id)
        if job is None or job.remote_prompt_id != prompt_id or job.status not in ACTIVE:
            return Stored(items=[], completed=False)
        if job.clip_id is None:
            return Stored(items=[], completed=_complete(session, job, prompt_id))
        folder = media_store.project_media_dir(job.project_id) / "clips" / str(job.clip_id)
        template = session.get(WorkflowTemplate, job.workflow_id) if job.workflow_id else None
        bindings = template.bindings if template is not None else {}
        new_ids: list[int] = []
        for output in outputs:
            file_path, thumb, width, height, duration, digest = _write_media(folder, output)
            exists = session.exec(
                select(GalleryItem).where(GalleryItem.clip_id == job.clip_id, GalleryItem.content_hash == digest)
            ).first()
            if exists is not None:
                continue
            item = GalleryItem(
                clip_id=job.clip_id,
                project_id=job.project_id,
                job_id=job.id,
                kind=output.media,
                file_path=file_path,
                thumbnail_path=thumb,
                width=width,
                height=height,
                duration=duration,
                params=metadata(job, server_name, output, bindings),
                content_hash=digest,
            )
            session.add(item)
            session.flush()
            new_ids.append(item.id)  # type: ignore[arg-type]
        _select_first(session, job.clip_id, new_ids)
        completed = _complete(session, job, prompt_id)
        if not completed:
            session.rollback()
            return Stored(items=[], completed=False)
        session.commit()
        return Stored(items=new_ids, completed=True)


def _select_first(session: Session, clip_id: int, new_ids: list[int]) -> None:
    """A clip's first result of a kind becomes its selection; later ones wait to be picked."""
    if not new_ids:
        return
    fresh = session.exec(select(GalleryItem).where(col(GalleryItem.id).in_(new_ids)).order_by(GalleryItem.id)).all()
    for kind in {item.kind for item in fresh}:
        chosen = session.exec(
            select(GalleryItem.id).where(
                GalleryItem.clip_id == clip_id,
                GalleryItem.kind == kind,
                GalleryItem.selected == True,  # noqa: E712
            )
        ).first()
        if chosen is None:
            next(item for item in fresh if item.kind == kind).selected = True


def _complete(session: Session, job: GenerationJob, prompt_id: str) -> bool:
    if job.remote_prompt_id != prompt_id or job.status not in ACTIVE:
        return False
    job.status = "completed"
    job.finished_at = utcnow()
    job.progress = 1.0
    job.error = None
    job.claimed_by = None
    job.lease_until = None
    session.add(job)
    if job.checkpoint and job.server_id is not None:
        # What the server has loaded now: the dispatcher's affinity after a restart starts from it.
        server = session.get(ComfyServer, job.server_id)
        if server is not None and server.last_checkpoint != job.checkpoint:
            server.last_checkpoint = job.checkpoint
            session.add(server)
    session.flush()
    return True


def write_preview(job_id: int, image: bytes, mime: str) -> str:
    """The newest live preview of a running job, replaced in place (the page adds a cache-buster)."""
    folder = get_settings().media_dir / "jobs" / str(job_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / ("preview.png" if "png" in mime else "preview.jpg")
    partial = target.with_suffix(".part")
    partial.write_bytes(image)
    partial.replace(target)
    return _relative(target)


def media_kind(filename: str, animated: bool = False) -> str:
    suffix = Path(filename).suffix.lower()
    if suffix in VIDEO_SUFFIXES or (animated and suffix == ".webp"):
        return "video"
    return "image"
