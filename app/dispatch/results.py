"""Storing what a finished prompt produced: files by content hash, WebP thumbnails, gallery items.

The files, the gallery rows and the job's "completed" are one step: rows and status commit in
one transaction, and files are named by their hash, so a crash at any point followed by a
second look at the server's history stores nothing twice.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from app.config import get_settings
from app.services import media_check, media_store
from data.models import ComfyServer, GalleryItem, GenerationJob, WorkflowTemplate
from data.models._common import utcnow

from .claims import ACTIVE

log = logging.getLogger("storycanvas.dispatch")

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


def _write_media(folder: Path, output: Output, checked: media_check.CheckedMedia) -> tuple[str, str | None, str]:
    """(file, thumbnail, hash) — written once per content, named for what the file really is."""
    digest = hashlib.sha256(output.data).hexdigest()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{digest[:24]}{checked.suffix}"
    if not target.exists():
        partial = target.with_suffix(target.suffix + ".part")
        partial.write_bytes(output.data)
        partial.replace(target)
    if checked.thumbnail is None:
        return _relative(target), None, digest
    thumbs = folder / "thumbs"
    thumbs.mkdir(exist_ok=True)
    thumb_path = thumbs / f"{digest[:24]}.webp"
    if not thumb_path.exists():
        checked.thumbnail.save(thumb_path, "WEBP", quality=80)
    return _relative(target), _relative(thumb_path), digest


def check_outputs(outputs: list[Output], server_name: str | None) -> list[media_check.CheckedMedia]:
    """Every output decoded within the limits before anything is stored; BadOutput says which one is not right."""
    checked = []
    for output in outputs:
        try:
            checked.append(media_check.check_output(output.data, output.filename, output.media))
        except media_check.BadMedia as bad:
            source = server_name or "The server"
            raise BadOutput(
                f"{source} returned “{output.filename}” as a result, which {bad.reason}. Nothing of this job was "
                "stored: check the workflow's output node (and the server's disk), then generate again."
            ) from None
    return checked


class BadOutput(Exception):
    """An output that is not the picture or video it claims to be; the message is the job's failure reason."""


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
    job: GenerationJob,
    server_name: str | None,
    output: Output,
    bindings: dict[str, Any] | None = None,
    size: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """What the gallery shows of how a result was made (and what "replay" reads).

    `size`: the file's own width and height, which win over what the request asked for (a workflow without
    a size binding makes its own size, not the project's frame)."""
    params = {key: value for key, value in (job.params or {}).items() if value is not None}
    params = {**values_in_graph(job.resolved_graph or {}, bindings or {}), **params}
    duration = None
    if job.started_at is not None:
        duration = round(((job.finished_at or utcnow()) - job.started_at).total_seconds(), 2)
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
    if size is not None and size[0] > 0 and size[1] > 0:
        found["width"], found["height"] = size
    return found


def store_results(
    job_id: int,
    prompt_id: str,
    server_name: str | None,
    outputs: list[Output],
    ran: tuple[datetime | None, datetime | None] = (None, None),
) -> Stored:
    """Files first (idempotent), then gallery rows and the job's completion in one commit.

    Every file is checked first (decoded within the pixel and memory limits, outside any database session): one that
    is not what it claims raises BadOutput with the reason (the job's failure), and nothing of it is stored."""
    from data.engine import session_scope

    checked = check_outputs(outputs, server_name)
    with session_scope() as session:
        job = session.get(GenerationJob, job_id)
        if job is None or job.remote_prompt_id != prompt_id or job.status not in ACTIVE:
            return Stored(items=[], completed=False)
        started, ended = ran
        if started is not None and ended is not None and ended >= started:
            # How long it ran, by the server's own clock: true even when it ended (or started) while this
            # app was down. Its start stays the one this app saw, if it saw one.
            took = ended - started
            job.started_at = job.started_at or (utcnow() - took)
            job.finished_at = finished = job.started_at + took
        else:
            finished = None
        if job.clip_id is None:  # a job of no clip (its clip was deleted): nothing to keep, but it is done
            completed = _complete(session, job, prompt_id, finished)
            session.commit()
            return Stored(items=[], completed=completed)
        folder = media_store.project_media_dir(job.project_id) / "clips" / str(job.clip_id)
        template = session.get(WorkflowTemplate, job.workflow_id) if job.workflow_id else None
        bindings = template.bindings if template is not None else {}
        new_ids: list[int] = []
        for output, media in zip(outputs, checked, strict=True):
            file_path, thumb, digest = _write_media(folder, output, media)
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
                width=media.width,
                height=media.height,
                duration=media.duration,
                params=metadata(job, server_name, output, bindings, (media.width, media.height)),
                content_hash=digest,
            )
            session.add(item)
            session.flush()
            new_ids.append(item.id)  # type: ignore[arg-type]  # a stored row's id is never None
        _select_first(session, job.clip_id, new_ids)
        completed = _complete(session, job, prompt_id, finished)
        if not completed:
            session.rollback()
            return Stored(items=[], completed=False)
        session.commit()
        return Stored(items=new_ids, completed=True)


def _select_first(session: Session, clip_id: int, new_ids: list[int]) -> None:
    """A clip's first result of a kind becomes its selection; later ones wait to be picked."""
    if not new_ids:
        return
    query = select(GalleryItem).where(col(GalleryItem.id).in_(new_ids)).order_by(col(GalleryItem.id))
    fresh = session.exec(query).all()
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


def _complete(session: Session, job: GenerationJob, prompt_id: str, finished_at: datetime | None = None) -> bool:
    if job.remote_prompt_id != prompt_id or job.status not in ACTIVE:
        return False
    job.status = "completed"
    job.finished_at = finished_at or utcnow()
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


def write_preview(job_id: int, image: bytes, mime: str) -> str | None:
    """The newest live preview of a running job, replaced in place (the page adds a cache-buster).

    None (no preview) for a frame that is not a small PNG or JPEG that decodes."""
    if not media_check.check_preview(image):
        log.info("Job %s: a live preview frame was not a small PNG or JPEG; it is not shown", job_id)
        return None
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
