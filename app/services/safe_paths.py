"""Paths that come from outside (an imported document, later an upload's name) resolved before anything trusts them.

A path is judged by what it resolves to, never by how it starts: "projects/7/../../jobs/3/preview.jpg" starts
like a file of project 7 and is a running job's preview. So the text is refused outright when it holds anything
a path inside the media folder never needs (parent or empty segments, an absolute start, backslashes, control
characters, percent-encoding, characters that normalise into different ones), then it is walked segment by
segment under the media folder without following links, and only the place it reaches is returned. Callers decide
ownership from that place.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from pathlib import Path, PurePosixPath

from app.config import get_settings
from data.errors import Invalid

MAX_PATH_CHARS = 1000
MAX_SEGMENT_CHARS = 255


class UnsafePath(Invalid):
    """A path that must not be followed; the message names it and says why."""


def _shown(stored: str) -> str:
    """The path as it may be quoted back: control characters made visible, long ones shortened."""
    visible = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in stored[:200])
    return visible + ("…" if len(stored) > 200 else "")


def _refuse(stored: str, why: str) -> UnsafePath:
    return UnsafePath(f"The file path “{_shown(stored)}” {why}; a path names a file in the media folder.", field="path")


def check_relative(stored: str) -> PurePosixPath:
    """The path's segments when its text may name a file inside the media folder, else UnsafePath.

    This looks only at the text, so it is safe to call on anything and the same text always gets the same answer."""
    if not isinstance(stored, str) or not stored:
        raise UnsafePath("A file path is empty; a path names a file in the media folder.", field="path")
    if len(stored) > MAX_PATH_CHARS:
        raise _refuse(stored, f"is longer than {MAX_PATH_CHARS} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") for ch in stored):
        raise _refuse(stored, "holds a control or invisible character")
    if "\\" in stored:
        raise _refuse(stored, "holds a backslash")
    if "%" in stored:
        raise _refuse(stored, "holds percent-encoding")
    if unicodedata.normalize("NFKC", stored) != stored:
        # Full-width dots and solidus, ligatures…: harmless here, but a later normalisation would turn them into
        # "../" — exports never write them, so a document that holds them was made by hand.
        raise _refuse(stored, "holds characters that stand for others (full-width or compatibility forms)")
    if stored.startswith(("/", "~")) or (len(stored) > 1 and stored[1] == ":"):
        raise _refuse(stored, "is absolute")
    segments = stored.split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise _refuse(stored, "has an empty, “.” or “..” segment")
        if segment.strip() != segment or segment.endswith("."):
            raise _refuse(stored, "has a segment that starts or ends with a space, or ends with a dot")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_CHARS:
            raise _refuse(stored, "has a segment longer than a file name can be")
    return PurePosixPath(*segments)


def resolve_media(stored: str, root: Path | None = None) -> Path:
    """The regular file a stored path names inside the media folder (no link followed anywhere on the way).

    UnsafePath when the text is refused by check_relative, a segment is a link, or the result is not inside the
    folder; FileNotFoundError when it is a safe path to nothing (the caller says what a missing file means)."""
    relative = check_relative(stored)
    base = (root or get_settings().media_dir).resolve()
    current = base
    for position, segment in enumerate(relative.parts):
        current = current / segment
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            raise
        except OSError as error:  # a name too long for this file system, a permission: nothing to read there
            raise FileNotFoundError(str(current)) from error
        if stat.S_ISLNK(mode):
            raise _refuse(stored, "goes through a link")
        last = position == len(relative.parts) - 1
        if not last and not stat.S_ISDIR(mode):
            raise FileNotFoundError(str(current))
        if last and not stat.S_ISREG(mode):
            raise _refuse(stored, "is not a regular file")
    resolved = current.resolve(strict=True)
    if resolved == base or not resolved.is_relative_to(base):  # belt and braces: the walk above already ensures it
        raise _refuse(stored, "leads out of the media folder")
    return resolved


def media_relative(path: Path, root: Path | None = None) -> PurePosixPath:
    """Where a resolved file lies under the media folder, as the segments ownership is decided from."""
    base = (root or get_settings().media_dir).resolve()
    return PurePosixPath(path.resolve().relative_to(base).as_posix())
