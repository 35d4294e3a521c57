"""Exports of a project's cut: the one entry the export dialog and the REST API call.

options → the neutral timeline (app/services/project_cut.py) → a writer (app/exports/<format>.py) → bytes,
optionally zipped with the media (app/services/export_package.py). The preview shows the same timeline as tracks,
clips, gaps and durations, with the warnings the chosen format will carry, before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel import Session

from app.config import get_settings
from app.exports.gc_pause import gc_paused
from app.exports.timeline import (
    RATE_LABELS,
    ExportTimeline,
    TimelineClip,
    Written,
    rate_for,
)
from data.errors import TooLarge
from data.models import BodyId, Project, User

from . import export_package as package
from . import export_writers, project_import, project_json, projects
from .project_cut import load_cut

ExportFormat = Literal["fcpxml", "edl", "xmeml", "aaf", "otio", "json"]
MediaPathStyle = Literal["absolute", "relative", "package"]
WRITERS = export_writers.WRITERS
TEXT_FORMATS = ("fcpxml", "edl", "xmeml", "otio", "json")
FORMAT_LABELS: dict[str, str] = {
    "fcpxml": "Final Cut Pro (FCPXML 1.9)",
    "edl": "Premiere / Avid (CMX3600 EDL)",
    "xmeml": "DaVinci Resolve / Premiere (FCP 7 XML)",
    "aaf": "Avid / Resolve (AAF)",
    "otio": "OpenTimelineIO (.otio)",
    "json": "StoryCanvas project (JSON)",
}
FRAME_RATE_CHOICES = RATE_LABELS
class ExportScope(BaseModel):
    """One scene, or some clips; neither means the whole project."""

    model_config = ConfigDict(extra="forbid")
    scene_id: BodyId | None = None
    clip_ids: list[BodyId] | None = Field(default=None, max_length=100_000)


class ExportOptions(BaseModel):
    """The REST body of POST /api/v1/projects/{id}/exports and the export dialog's form."""

    model_config = ConfigDict(extra="forbid")
    format: ExportFormat = "fcpxml"
    scope: ExportScope | None = None
    package: bool = False
    frame_rate: str | None = Field(default=None, description="23.976, 24, 25, 29.97, 30, 50, 59.94 or 60")
    width: int | None = Field(default=None, ge=16, le=16384)
    height: int | None = Field(default=None, ge=16, le=16384)
    codec_hint: str = Field(default="", max_length=100)
    start_timecode: str | None = Field(default=None, max_length=20, description="default 01:00:00:00")
    drop_frame: bool | None = None
    include_metadata: bool = True
    media_paths: MediaPathStyle = "absolute"

    @field_validator("frame_rate", mode="before")
    @classmethod
    def _rate(cls, value: object) -> str | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError("give the frame rate as a number such as 23.976 or 25")
        try:
            return rate_for(value).label
        except Exception:
            raise ValueError(f"frame rate must be one of {', '.join(RATE_LABELS)}") from None

    @property
    def packaged(self) -> bool:
        return self.package or self.media_paths == "package"


def parse_options(**values: Any) -> ExportOptions:
    """Options from a form, checked like the API checks them."""
    try:
        return ExportOptions(**values)
    except ValidationError as error:
        raise projects.validation_error(error) from error


@dataclass(frozen=True)
class ExportFile:
    filename: str
    media_type: str
    content: bytes
    warnings: list[str] = field(default_factory=list)

    @property
    def is_text(self) -> bool:
        return not self.filename.endswith((".zip", ".aaf"))


def export_cut(session: Session, actor: User, project_id: int, options: ExportOptions) -> ExportTimeline:
    """The timeline the options describe; 422 (Invalid) with a reason for options that cannot be met."""
    scope = options.scope or ExportScope()
    whole = options.format == "json"
    return load_cut(
        session,
        actor,
        project_id,
        scene_id=None if whole else scope.scene_id,
        clip_ids=None if whole else scope.clip_ids,
        frame_rate=options.frame_rate,
        width=options.width,
        height=options.height,
        start_timecode=options.start_timecode,
        drop_frame=options.drop_frame,
        media_paths="absolute" if options.media_paths == "absolute" and not options.packaged else "relative",
        include_metadata=options.include_metadata,
        codec_hint=options.codec_hint.strip(),
    )


def _file_name(project: Project, timeline: ExportTimeline | None, options: ExportOptions, extension: str) -> str:
    stem = download_stem(timeline.name if timeline is not None and options.format != "json" else project.name)
    return f"{stem}.{extension}"


def download_stem(name: str) -> str:
    """A download's name from a project or scene name: its letters kept, accents and scripts included ("Café
    Noir" → "café-noir"; the REST answer adds an ASCII fallback), anything else a dash, at most 60 characters."""
    stem = re.sub(r"[\W_]+", "-", name).strip("-").lower()[:60].strip("-")
    return stem or "project"


def _written(
    session: Session, actor: User, project_id: int, options: ExportOptions, need_timeline: bool = True
) -> tuple[ExportTimeline | None, Written]:
    """The written file, and the timeline it came from (for JSON only when a package or a preview needs it)."""
    timeline = export_cut(session, actor, project_id, options) if need_timeline or options.format != "json" else None
    if options.format == "json":
        written = Written(project_json.write_document(project_json.export_document(session, actor, project_id)))
        if options.scope and (options.scope.scene_id is not None or options.scope.clip_ids is not None):
            written.warnings.append("The JSON export always holds the whole project; the scope is ignored.")
        return timeline, written
    assert timeline is not None  # every format but JSON was given its timeline above
    return timeline, export_writers.write(options.format, timeline)


def export_project(session: Session, actor: User, project_id: int, options: ExportOptions) -> ExportFile:
    """The file (or the zip) of a project's cut in the chosen format, with the warnings of what it cannot carry."""
    project = projects.get_project(session, actor, project_id)
    with gc_paused():
        timeline, written = _written(session, actor, project_id, options, need_timeline=options.packaged)
    extension = project_json.EXTENSION if options.format == "json" else WRITERS[options.format].EXTENSION
    media_type = project_json.MEDIA_TYPE if options.format == "json" else WRITERS[options.format].MEDIA_TYPE
    name = _file_name(project, timeline, options, extension)
    warnings = [*(timeline.warnings if timeline is not None else ()), *written.warnings]
    if not options.packaged:
        return ExportFile(name, media_type, written.content, warnings)
    zipped = package.build(name, Written(written.content, []), timeline)
    return ExportFile(name.rsplit(".", 1)[0] + ".zip", package.MEDIA_TYPE, zipped.content, warnings + zipped.warnings)


def preview(
    session: Session, actor: User, project_id: int, options: ExportOptions, item_limit: int | None = None
) -> dict[str, Any]:
    """What the export will hold: tracks with clips, gaps and placeholders (record in/out), totals, warnings.

    item_limit keeps a huge project's preview small (the totals still count everything).
    """
    timeline, written = _written(session, actor, project_id, options)
    assert timeline is not None
    rate = timeline.rate

    def tc(frame: int) -> str:
        return rate.timecode(timeline.start_frame + frame, timeline.drop_frame)

    items: list[dict[str, Any]] = []
    for item in timeline.items:
        if item_limit is not None and len(items) >= item_limit:
            break
        entry: dict[str, Any] = {
            "type": "gap",
            "record_start": item.record_start,
            "duration": item.duration,
            "record_in": tc(item.record_start),
            "record_out": tc(item.record_end),
            "seconds": round(float(rate.seconds(item.duration)), 3),
        }
        if isinstance(item, TimelineClip):
            entry.update(
                type="placeholder" if item.placeholder else "clip",
                clip_id=item.clip_id,
                scene_id=item.scene_id,
                scene=item.scene_name,
                name=item.display_name,
                media=None if item.media is None else item.media.kind,
                file=None if item.media is None else item.media.file_name,
                source_start=item.source_start,
                part=item.part,
            )
        items.append(entry)
    tracks: list[dict[str, Any]] = [{"name": "V1", "kind": "video", "items": items}]
    if timeline.music is not None:
        tracks.append(
            {
                "name": "A1",
                "kind": "audio",
                "items": [{"type": "music", "name": "Music", "file": timeline.music.file_name}],
            }
        )
    clips = timeline.clips
    return {
        "format": options.format,
        "label": FORMAT_LABELS[options.format],
        "name": timeline.name,
        "frame_rate": rate.label,
        "drop_frame": timeline.drop_frame,
        "start_timecode": timeline.start_timecode,
        "end_timecode": tc(timeline.duration),
        "width": timeline.width,
        "height": timeline.height,
        "duration_frames": timeline.duration,
        "duration": round(float(rate.seconds(timeline.duration)), 3),
        "tracks": tracks,
        "truncated": item_limit is not None and len(timeline.items) > item_limit,
        "counts": {
            "clips": len(clips),
            "videos": sum(1 for clip in clips if clip.media is not None and clip.media.kind == "video"),
            "stills": sum(1 for clip in clips if clip.still),
            "placeholders": sum(1 for clip in clips if clip.placeholder),
            "gaps": len(timeline.items) - len(clips),
            "scenes": len(timeline.scenes),
            "files": len(timeline.media),
        },
        "warnings": [*timeline.warnings, *written.warnings],
    }


def import_project(session: Session, actor: User, raw: bytes | str | dict[str, Any]) -> tuple[Project, list[str]]:
    """A new project of the user's from a StoryCanvas JSON export (schema in app/services/project_json.py)."""
    limit = get_settings().max_import_bytes  # the same cap the HTTP layer applies to the body
    if isinstance(raw, bytes | str) and len(raw) > limit:
        raise TooLarge(
            f"The export is larger than {limit // (1024 * 1024)} MB; it cannot be imported here "
            "(an administrator can raise STORYCANVAS_MAX_IMPORT_BYTES)."
        )
    return project_import.import_document(session, actor, raw)
