"""Importing a StoryCanvas JSON export (the schema is documented in project_json): a new project of the user's.

The document is validated strictly first (newer versions, colours that are not colours, clips past the editor's
6 hours, settings this version does not know, nesting beyond what the schema needs are refused with a reason),
then recreated in one transaction.

Result files are named by paths in the document, so they are hostile input: every path is checked as text and
resolved under the media folder without following links (app.services.safe_paths) before anything else, and a
document with one path that is not a plain file of a project is refused whole, naming that path. A plain path into
a project the importing user may not see (an export shared by a colleague) only leaves that file behind.
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator
from sqlmodel import Session, col, delete, select

from app.config import get_settings
from data import frames
from data.errors import DomainError, Invalid, NotFound
from data.models import (
    CLIP_COLOR_MAX,
    CLIP_TEXT_LIMITS,
    SCENE_DESCRIPTION_MAX,
    SCENE_NAME_MAX,
    Character,
    Clip,
    ClipCharacterLink,
    ClipStyleLink,
    GalleryItem,
    MediaAsset,
    Project,
    Scene,
    StyleTemplate,
    User,
)
from data.words import agree, counted

from . import (
    clips,
    editor_settings,
    events,
    generation_defaults,
    json_limits,
    media_store,
    projects,
    safe_paths,
)
from .project_json import SCHEMA, VERSION

MAX_DEPTH = 32  # the schema itself is 7 levels deep; params and analysis add a few
KNOWN_SETTINGS = ("editor", "default_clip_duration", "generation")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ResultDoc(_Strict):
    kind: Literal["image", "video"]
    file: str = Field(default="", max_length=300)
    path: str = Field(max_length=1000)
    thumbnail: str | None = Field(default=None, max_length=1000)
    content_hash: str | None = Field(default=None, max_length=64)
    selected: bool = False
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None


class ClipDoc(_Strict):
    start_frame: int = Field(ge=0, le=6 * 3600 * 60)
    duration_frames: int = Field(ge=1, le=6 * 3600 * 60)
    label: str = Field(default="", max_length=CLIP_TEXT_LIMITS["label"])
    notes: str = Field(default="", max_length=CLIP_TEXT_LIMITS["notes"])
    color: str = Field(default="#5c7cfa", max_length=CLIP_COLOR_MAX)
    image_prompt: str = Field(default="", max_length=CLIP_TEXT_LIMITS["image_prompt"])
    video_prompt: str = Field(default="", max_length=CLIP_TEXT_LIMITS["video_prompt"])
    overlap_allowed: bool = False
    characters: list[str] = Field(default_factory=list)
    styles: list[str] = Field(default_factory=list)
    results: list[ResultDoc] = Field(default_factory=list)

    @field_validator("color", mode="before")
    @classmethod
    def _color(cls, value: object) -> str:
        # The timeline puts the colour into CSS: only #rgb(a)/#rrggbb(aa), as the editor accepts (no url(…)).
        try:
            return clips.clean_color(value)  # type: ignore[arg-type]  # clean_color refuses anything but text with Invalid
        except Invalid:
            raise ValueError(f"{str(value)[:40]!r} is not a colour; a colour is written like #5c7cfa") from None


class SceneDoc(_Strict):
    name: str = Field(min_length=1, max_length=SCENE_NAME_MAX)
    description: str = Field(default="", max_length=SCENE_DESCRIPTION_MAX)
    estimated_duration: float | None = Field(default=None, gt=0, le=36000)
    clips: list[ClipDoc] = Field(default_factory=list)


class CharacterDoc(_Strict):
    key: str = Field(min_length=1, max_length=40)
    scope: Literal["project", "global"] = "project"
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    prompt: str = ""
    negative_prompt: str = ""


class StyleDoc(_Strict):
    key: str = Field(min_length=1, max_length=40)
    scope: Literal["project", "global"] = "project"
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    prompt_prefix: str = ""
    prompt_suffix: str = ""
    negative_prompt: str = ""
    params: dict[str, Any] = Field(default_factory=dict)


class AssetDoc(_Strict):
    kind: str = Field(max_length=20)
    original_name: str = Field(default="", max_length=255)
    mime_type: str = Field(default="", max_length=100)
    size_bytes: int = 0
    duration: float | None = None
    analysis: dict[str, Any] = Field(default_factory=dict)
    path: str = Field(max_length=1000)


class ProjectDoc(_Strict):
    name: str
    description: str = ""
    fps: float = 24.0
    width: int = 1920
    height: int = 1080
    target_duration: float = 60.0
    tags: list[str] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)


class Document(_Strict):
    schema_: str = Field(alias="schema")
    version: StrictInt
    project: ProjectDoc
    characters: list[CharacterDoc] = Field(default_factory=list)
    styles: list[StyleDoc] = Field(default_factory=list)
    scenes: list[SceneDoc] = Field(default_factory=list)
    media_assets: list[AssetDoc] = Field(default_factory=list)

    @field_validator("schema_")
    @classmethod
    def _schema(cls, value: str) -> str:
        if value != SCHEMA:
            raise ValueError(f"this is not a StoryCanvas project export (schema must be “{SCHEMA}”)")
        return value

    @field_validator("version")
    @classmethod
    def _version(cls, value: int) -> int:
        if value > VERSION:
            raise ValueError(f"made by a newer StoryCanvas (version {value}); this one reads up to {VERSION}")
        if value < 1:
            raise ValueError("unknown version")
        return value


def parse_document(raw: bytes | str | dict[str, Any]) -> Document:
    """The document checked against the schema, with a reason a person can act on when it does not fit."""
    what = "The project export"
    try:
        if isinstance(raw, dict):
            json_limits.check_depth(raw, MAX_DEPTH, what)
            data = raw
        else:
            data = json_limits.loads(raw, max_depth=MAX_DEPTH, what=what)
    except (ValueError, UnicodeDecodeError) as error:
        raise Invalid(f"The file is not JSON ({error}). Import a StoryCanvas project export.") from None
    if not isinstance(data, dict):
        raise Invalid("The file is not a StoryCanvas project export: expected a JSON object.")
    try:
        doc = Document.model_validate(data)
    except ValidationError as error:
        raise projects.validation_error(error) from None
    _check_settings(doc.project.settings)
    _check_paths(doc)
    return doc


def _check_settings(settings: dict[str, Any]) -> None:
    """Only what this version keeps in a project's settings, each value as its own editor would accept it."""
    unknown = sorted(set(settings) - set(KNOWN_SETTINGS))
    if unknown:
        raise Invalid(
            f"project.settings: {unknown[0]!r} is not a setting this StoryCanvas knows "
            f"(known: {', '.join(KNOWN_SETTINGS)}).",
            field="settings",
        )
    duration = settings.get("default_clip_duration")
    if "default_clip_duration" in settings and not (
        isinstance(duration, int | float) and not isinstance(duration, bool) and 1 / 60 <= duration <= 3600
    ):
        raise Invalid("project.settings: the default clip duration is a number of seconds from 1/60 to 3600.")
    editor = settings.get("editor", {})
    if not isinstance(editor, dict):
        raise Invalid("project.settings.editor is an object of editor settings.")
    fields = editor_settings.EditorSettings.__dataclass_fields__
    for key, value in editor.items():
        if key not in fields:
            raise Invalid(f"project.settings.editor: {key!r} is not an editor setting.")
        expected = {"default_clip_duration": (int, float), "snap": (bool,), "drop_frame": (bool,), "ruler": (str,)}
        if not isinstance(value, expected[key]) or (key == "ruler" and value not in editor_settings.RULER_UNITS):
            raise Invalid(f"project.settings.editor: {key} has a value the editor does not use ({str(value)[:40]}).")
    generation = settings.get("generation", {})
    if not isinstance(generation, dict):
        raise Invalid("project.settings.generation is an object of generation defaults.")
    defaults = {key: value for key, value in generation.items() if key != "next_seed"}
    seed = generation.get("next_seed")
    if "next_seed" in generation and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= generation_defaults.MAX_SEED
    ):
        raise Invalid("project.settings.generation: next_seed is a whole number from 0.")
    try:
        generation_defaults.parse_defaults(defaults)
    except DomainError as error:
        raise Invalid(f"project.settings.generation: {error.message}") from None


def _document_paths(doc: Document) -> list[tuple[str, str]]:
    """(where in the document, path) of every file it names."""
    found: list[tuple[str, str]] = []
    for scene_number, scene in enumerate(doc.scenes, start=1):
        for clip_number, clip in enumerate(scene.clips, start=1):
            for result_number, result in enumerate(clip.results, start=1):
                where = f"scene {scene_number}, clip {clip_number}, result {result_number}"
                found.append((where, result.path))
                if result.thumbnail:
                    found.append((f"{where} (thumbnail)", result.thumbnail))
    found.extend((f"media asset {number}", asset.path) for number, asset in enumerate(doc.media_assets, start=1))
    return found


def _project_of(stored: str) -> int:
    """The project a path names by its text; UnsafePath unless it is a plain path of a file in a project."""
    relative = safe_paths.check_relative(stored)
    parts = relative.parts
    if len(parts) < 3 or parts[0] != "projects" or not parts[1].isdigit() or len(parts[1]) > 18:
        raise safe_paths.UnsafePath(
            f"The file path “{stored[:200]}” is not a file of a project; an export names files as projects/<number>/….",
            field="path",
        )
    return int(parts[1])


def _check_paths(doc: Document) -> None:
    """Every path is judged before anything is created: one bad path refuses the document, naming it."""
    for where, stored in _document_paths(doc):
        try:
            _project_of(stored)
        except safe_paths.UnsafePath as error:
            raise safe_paths.UnsafePath(f"{where}: {error.message}", field="path") from None


def _readable_source(session: Session, actor: User, stored: str | None) -> Path | None:
    """A file of the document, only when it lies in a project the importing user may see (no peeking).

    The path is resolved first (no link followed, inside the media folder), and ownership is decided from where
    it leads; a safe path to nothing, or into a project the user may not see, is None (left behind)."""
    if not stored:
        return None
    try:
        path = safe_paths.resolve_media(stored)
    except FileNotFoundError:
        return None
    parts = safe_paths.media_relative(path).parts
    project_id = _project_of("/".join(parts))  # where it really is, not where its text seemed to point
    try:
        projects.get_project(session, actor, project_id)
    except NotFound:
        return None
    return path


def _check_spans(doc: Document, fps: float) -> None:
    """Clips within the editor's 6 hours at the project's frame rate (the schema's bound assumes 60 fps)."""
    limit = frames.seconds_to_frames(clips.MAX_SECONDS, fps)
    for scene_number, scene in enumerate(doc.scenes, start=1):
        for clip_number, clip in enumerate(scene.clips, start=1):
            try:
                clips.check_span(clip.start_frame, clip.duration_frames, limit, fps)
            except Invalid as error:
                raise Invalid(f"scene {scene_number}, clip {clip_number}: {error.message}", field=error.field) from None


def _copy(source: Path, folder: Path, created: list[Path]) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    if not target.exists():
        shutil.copy2(source, target)
        created.append(target)
    return target.relative_to(get_settings().media_dir).as_posix()


def _library(session: Session, actor: User, project: Project, doc: Document) -> tuple[dict[str, int], dict[str, int]]:
    """Characters and styles by key: the user's global one of that name, else a new one in the project."""
    characters: dict[str, int] = {}
    for entry in doc.characters:
        found = None
        if entry.scope == "global":
            found = session.exec(
                select(Character).where(
                    Character.owner_id == actor.id, col(Character.project_id).is_(None), Character.name == entry.name
                )
            ).first()
        if found is None:
            found = Character(
                owner_id=actor.id,  # type: ignore[arg-type]  # a stored row's id is never None
                project_id=project.id,
                **entry.model_dump(include={"name", "description", "prompt", "negative_prompt"}),
            )
            session.add(found)
            session.flush()
        characters[entry.key] = found.id  # type: ignore[assignment]  # a stored row's id is never None
    styles: dict[str, int] = {}
    for style_entry in doc.styles:
        style = None
        if style_entry.scope == "global":
            style = session.exec(
                select(StyleTemplate).where(
                    StyleTemplate.owner_id == actor.id,
                    col(StyleTemplate.project_id).is_(None),
                    StyleTemplate.name == style_entry.name,
                )
            ).first()
        if style is None:
            style = StyleTemplate(
                owner_id=actor.id,  # type: ignore[arg-type]  # a stored row's id is never None
                project_id=project.id,
                **style_entry.model_dump(
                    include={"name", "description", "prompt_prefix", "prompt_suffix", "negative_prompt", "params"}
                ),
            )
            session.add(style)
            session.flush()
        styles[style_entry.key] = style.id  # type: ignore[assignment]  # a stored row's id is never None
    return characters, styles


# Clips written per transaction: SQLite has one writer, so between chunks other edits (and the
# dispatcher) get their turn instead of waiting for the whole import.
IMPORT_CHUNK_CLIPS = 250
# A waiting SQLite writer polls the lock with growing sleeps; a short pause after each chunk lets it in.
PAUSE_BETWEEN_CHUNKS_S = 0.03
IMPORTING_SUFFIX = " (importing…)"
PROJECT_NAME_MAX = 200  # as the project forms allow


def _importing_name(name: str) -> str:
    """Shown while the import runs, and left on a half-made project if the process dies: say what it is."""
    return name[: 200 - len(IMPORTING_SUFFIX)] + IMPORTING_SUFFIX


def _free_name(session: Session, actor: User, name: str) -> str:
    """The export's name, or "… (imported)" when the user already has a project of that name (then
    "… (imported 2)", …): two projects of one name on the projects page cannot be told apart."""
    taken = {
        taken_name.lower()
        for taken_name in session.exec(select(Project.name).where(Project.owner_id == actor.id)).all()
    }
    candidate, number = name, 1
    while candidate.lower() in taken:
        suffix = " (imported)" if number == 1 else f" (imported {number})"
        candidate = name[: PROJECT_NAME_MAX - len(suffix)] + suffix
        number += 1
    return candidate


def import_document(session: Session, actor: User, raw: bytes | str | dict[str, Any]) -> tuple[Project, list[str]]:
    """A new project of the user's, made from an export; returns it with what could not be brought along.

    It is written in chunks of IMPORT_CHUNK_CLIPS clips, each its own transaction, so a big import
    never holds SQLite's write lock for long. Until the last chunk the project is archived and
    named "… (importing…)"; a failure removes it and every file copied for it.
    """
    doc = parse_document(raw)
    data = projects.parse_create(
        **doc.project.model_dump(include={"name", "description", "fps", "width", "height", "target_duration", "tags"})
    )
    _check_spans(doc, data.fps)
    warnings: list[str] = []
    created: list[Path] = []
    project = Project(**data.model_dump(), owner_id=actor.id, settings=doc.project.settings)  # type: ignore[arg-type]  # a stored row's id is never None
    final_name, final_archived = _free_name(session, actor, project.name), project.archived
    project.name, project.archived = _importing_name(final_name), True
    try:
        session.add(project)
        session.flush()
        characters, styles = _library(session, actor, project, doc)
        session.commit()
        media_root = media_store.project_media_dir(project.id)  # type: ignore[arg-type]  # a stored row's id is never None
        skipped = 0
        for position, scene_doc in enumerate(doc.scenes):
            scene = Scene(
                project_id=project.id,  # type: ignore[arg-type]  # a stored row's id is never None
                position=position,
                **scene_doc.model_dump(include={"name", "description", "estimated_duration"}),
            )
            session.add(scene)
            session.flush()
            for first in range(0, max(1, len(scene_doc.clips)), IMPORT_CHUNK_CLIPS):
                chunk = scene_doc.clips[first : first + IMPORT_CHUNK_CLIPS]
                made = [
                    Clip(
                        scene_id=scene.id,  # type: ignore[arg-type]  # a stored row's id is never None
                        project_id=project.id,  # type: ignore[arg-type]  # a stored row's id is never None
                        **clip_doc.model_dump(exclude={"characters", "styles", "results"}),
                    )
                    for clip_doc in chunk
                ]
                session.add_all(made)
                session.flush()  # one batched INSERT … RETURNING gives every clip its id
                for clip, clip_doc in zip(made, chunk, strict=True):
                    skipped += _clip_extras(session, actor, clip, clip_doc, characters, styles, media_root, created)
                session.commit()
                if session.get_bind().dialect.name == "sqlite":
                    time.sleep(PAUSE_BETWEEN_CHUNKS_S)
        for asset_doc in doc.media_assets:
            source = _readable_source(session, actor, asset_doc.path)
            if source is None:
                skipped += 1
                continue
            session.add(
                MediaAsset(
                    owner_id=actor.id,  # type: ignore[arg-type]  # a stored row's id is never None
                    project_id=project.id,
                    file_path=_copy(source, media_root / "assets", created),
                    **asset_doc.model_dump(exclude={"path"}),
                )
            )
        if skipped:
            warnings.append(
                f"{counted(skipped, 'file')} {agree(skipped, 'was', 'were')} not brought along: they are not "
                f"on this server or not in a project of yours."
            )
        project.name, project.archived = final_name, final_archived
        session.add(project)
        message = f"Imported “{project.name}” from an export"
        projects.log_activity(session, project.id, actor, "project.created", message)  # type: ignore[arg-type]  # a stored row's id is never None
        session.commit()
    except BaseException:
        session.rollback()
        if project.id is not None:
            session.exec(delete(Project).where(col(Project.id) == project.id))
            session.commit()
        for path in created:
            path.unlink(missing_ok=True)
        raise
    session.refresh(project)
    events.emit(events.project_changed, project.id)
    return project, warnings


def _clip_extras(
    session: Session,
    actor: User,
    clip: Clip,
    clip_doc: ClipDoc,
    characters: dict[str, int],
    styles: dict[str, int],
    media_root: Path,
    created: list[Path],
) -> int:
    """A clip's character and style links and its results; returns how many files were left behind."""
    for key in dict.fromkeys(clip_doc.characters):
        if key not in characters:
            raise Invalid(f"A clip refers to character “{key}”, which the document does not define.")
        session.add(ClipCharacterLink(clip_id=clip.id, character_id=characters[key]))  # type: ignore[arg-type]  # a stored row's id is never None
    for key in dict.fromkeys(clip_doc.styles):
        if key not in styles:
            raise Invalid(f"A clip refers to style “{key}”, which the document does not define.")
        session.add(ClipStyleLink(clip_id=clip.id, style_id=styles[key]))  # type: ignore[arg-type]  # a stored row's id is never None
    folder = media_root / "clips" / str(clip.id)
    skipped = 0
    for result in clip_doc.results:
        source = _readable_source(session, actor, result.path)
        if source is None:
            skipped += 1
            continue
        thumbnail = _readable_source(session, actor, result.thumbnail)
        item = GalleryItem(
            clip_id=clip.id,  # type: ignore[arg-type]  # a stored row's id is never None
            project_id=clip.project_id,
            kind=result.kind,
            file_path=_copy(source, folder, created),
            thumbnail_path=_copy(thumbnail, folder, created) if thumbnail else None,
            **result.model_dump(include={"width", "height", "duration", "params", "content_hash", "selected"}),
        )
        if result.created_at is not None:
            item.created_at = result.created_at
        session.add(item)
    return skipped
