"""Per-project editor settings, kept in Project.settings: default clip length, snapping and ruler units."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlmodel import Session

from data.errors import Invalid
from data.models import Project, User
from data.models._common import utcnow

from . import events, projects

RULER_UNITS = ("seconds", "timecode", "frames")


@dataclass(frozen=True)
class EditorSettings:
    default_clip_duration: float = 3.0
    snap: bool = True
    ruler: str = "seconds"
    drop_frame: bool = False


def editor_settings(project: Project) -> EditorSettings:
    stored = (project.settings or {}).get("editor", {})
    defaults = EditorSettings()
    known = {key: stored[key] for key in asdict(defaults) if key in stored}
    if "default_clip_duration" in (project.settings or {}):  # the clip service reads this key directly
        known["default_clip_duration"] = project.settings["default_clip_duration"]
    return EditorSettings(**{**asdict(defaults), **known})


def update_editor_settings(session: Session, actor: User, project_id: int, **changes: Any) -> EditorSettings:
    """Checks every value before any is stored."""
    project = projects.get_project(session, actor, project_id)
    current = asdict(editor_settings(project))
    for key, value in changes.items():
        if key not in current:
            raise Invalid(f"Unknown editor setting {key!r}.", field=key)
        if key == "default_clip_duration":
            if not isinstance(value, int | float) or not 1 / 60 <= float(value) <= 3600:
                raise Invalid("The default clip duration must be between 1/60 s and one hour.", field=key)
            value = float(value)
        elif key == "ruler" and value not in RULER_UNITS:
            raise Invalid(f"Ruler units must be one of {', '.join(RULER_UNITS)}.", field=key)
        elif key in ("snap", "drop_frame"):
            value = bool(value)
        current[key] = value
    settings = dict(project.settings or {})
    settings["editor"] = current
    settings["default_clip_duration"] = current["default_clip_duration"]
    project.settings = settings
    project.updated_at = utcnow()
    session.add(project)
    session.commit()
    events.emit(events.project_changed, project_id)
    return EditorSettings(**current)
