"""A package: one zip with the timeline file, the media it uses under media/ and the music under music/.

The timeline inside refers to the media by relative paths (media/…), so unzipping anywhere and opening
the timeline file finds everything. Media files are stored, not compressed again (they already are).
"""

from __future__ import annotations

import io
import zipfile

from app.exports.timeline import ExportTimeline, Written
from data.words import agree, counted

from . import scenes

MEDIA_TYPE = "application/zip"


def build(timeline_name: str, written: Written, timeline: ExportTimeline | None) -> Written:
    """The zip of `written` (named timeline_name) and every file the timeline plays that exists on the server."""
    buffer = io.BytesIO()
    warnings = list(written.warnings)
    missing: list[str] = []
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        archive.writestr(timeline_name, written.content)
        for media in timeline.media if timeline is not None else []:
            path = scenes.media_path(media.stored_path)  # resolved again: never zip a file outside the media folder
            if path is None or not path.is_file():
                missing.append(media.stored_path)
                continue
            archive.write(path, media.package_name, compress_type=zipfile.ZIP_STORED)
    if missing:
        warnings.append(
            f"{counted(len(missing), 'file')} {agree(len(missing), 'is', 'are')} missing on the server and "
            f"are not in the package: " + ", ".join(missing[:5])
        )
    return Written(buffer.getvalue(), warnings)
