"""Premiere / Avid: a CMX3600 edit decision list, one video track, fixed columns.

Event lines are `NNN  REEL____ V     C        src-in src-out rec-in rec-out` (event 3 digits, reel 8
characters). TITLE and FCM head the list; drop-frame timecode (29.97 / 59.94 when chosen) is written
with ';' before the frames and `FCM: DROP FRAME`. File media use the reel AX with the file named in
`* FROM CLIP NAME:` and `* SOURCE FILE:`; placeholders are black (BL). Holes are left to the record
timecodes, as CMX3600 expects. No blank lines: strict readers count them as unknown statements.
"""

from __future__ import annotations

from data.words import agree, counted

from .notes import note_lines, one_line
from .timeline import ExportTimeline, TimelineClip, Written

FORMAT = "edl"
EXTENSION = "edl"
MEDIA_TYPE = "text/plain"
MAX_EVENTS = 999
COMMENT_LIMIT = 240


def event_line(number: int, reel: str, source: tuple[str, str], record: tuple[str, str]) -> str:
    """One event in CMX3600's fixed columns (a number past 999 widens the first column, as Premiere does)."""
    return f"{number:03d}  {reel[:8]:<8} {'V':<4}  {'C':<4} {'':>3} {source[0]} {source[1]} {record[0]} {record[1]}"


def write(timeline: ExportTimeline) -> Written:
    rate, drop = timeline.rate, timeline.drop_frame

    def tc(count: int) -> str:
        return rate.timecode(count, drop)

    lines = [
        f"TITLE: {one_line(timeline.name, 70) or 'StoryCanvas'}",
        f"FCM: {'DROP FRAME' if drop else 'NON-DROP FRAME'}",
    ]
    stills = 0
    clips: list[TimelineClip] = timeline.clips
    for number, clip in enumerate(clips, start=1):
        record = (tc(timeline.start_frame + clip.record_start), tc(timeline.start_frame + clip.record_end))
        source = (tc(clip.source_start), tc(clip.source_start + clip.duration))
        if clip.media is None:
            lines.append(event_line(number, "BL", (tc(0), tc(clip.duration)), record))
            lines.append(f"* FROM CLIP NAME: {one_line(clip.display_name, COMMENT_LIMIT)}")
        else:
            lines.append(event_line(number, "AX", source, record))
            lines.append(f"* FROM CLIP NAME: {clip.media.file_name}")
            lines.append(f"* SOURCE FILE: {timeline.media_location(clip.media)}")
            if clip.still:
                stills += 1
                lines.append(f"* STILL IMAGE: hold {clip.media.file_name} for {clip.duration} frames")
        lines.extend(f"* {line}" for line in note_lines(clip, timeline.include_metadata, COMMENT_LIMIT))
    warnings: list[str] = []
    if len(clips) > MAX_EVENTS:
        warnings.append(
            f"EDL: {len(clips)} events exceed CMX3600's 999; events past 999 get 4-digit numbers, which Premiere "
            "and Resolve read but some Avid versions refuse. Export per scene for strict readers."
        )
    if stills:
        warnings.append(
            f"EDL: {counted(stills, 'still image')} {agree(stills, 'is', 'are')} listed as events of their "
            f"image file and noted as “STILL IMAGE”; "
            "Resolve does not import stills from an EDL, so bring those in from the media folder."
        )
    if timeline.music is not None:
        warnings.append("EDL: one video track only; the music is not in the list (it is in the package).")
    if timeline.include_metadata and any(
        len(one_line(text)) > COMMENT_LIMIT
        for clip in clips
        for text in (clip.image_prompt, clip.video_prompt, clip.notes)
    ):
        warnings.append(f"EDL: prompts and notes are comments, cut to {COMMENT_LIMIT} characters per line.")
    if timeline.codec_hint:
        warnings.append(f"EDL has no place for a codec hint (“{timeline.codec_hint}”); it is left out.")
    return Written(("\n".join(lines) + "\n").encode("utf-8"), warnings)
