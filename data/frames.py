"""Exact frame arithmetic: NTSC rates as fractions, seconds ↔ frames, and SMPTE timecode (with drop-frame).

Clip times are stored as whole frames so that no edit ever accumulates float error; seconds only
appear at the edges (forms, the REST API, rulers) and are converted here, in one place.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from .errors import Invalid

# Rates written as decimals that are really n*1000/1001 (NTSC). 59.94 is not a project rate but
# timecode for it is standard, so the arithmetic knows it.
_NTSC_RATES: dict[float, Fraction] = {
    23.976: Fraction(24000, 1001),
    29.97: Fraction(30000, 1001),
    47.952: Fraction(48000, 1001),
    59.94: Fraction(60000, 1001),
}
_DROP_FRAMES = {30: 2, 60: 4}  # frames skipped per minute (except every tenth minute) for 29.97 / 59.94
_TIMECODE = re.compile(r"^\s*(-)?(\d{1,4})[:;.](\d{1,2})[:;.](\d{1,2})([:;.])(\d{1,3})\s*$")


def _number(value: float, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid(f"{field} must be a finite number.", field=field)
    return value


def frame_rate(fps: float) -> Fraction:
    """The exact rate: 23.976 → 24000/1001, 29.97 → 30000/1001 (59.94 → 60000/1001), whole rates as integers."""
    fps = _number(fps, "fps")
    if fps <= 0:
        raise Invalid("The frame rate must be positive.", field="fps")
    for nominal, exact in _NTSC_RATES.items():
        if abs(fps - nominal) < 0.005:
            return exact
    if abs(fps - round(fps)) < 0.0005:
        return Fraction(round(fps))
    return Fraction(fps).limit_denominator(1001)


def timecode_base(fps: float) -> int:
    """Frames per timecode second: the nominal rate (24 for 23.976, 30 for 29.97, 60 for 59.94)."""
    return max(1, round(frame_rate(fps)))


def supports_drop_frame(fps: float) -> bool:
    """Drop-frame timecode exists only for 29.97 and 59.94."""
    rate = frame_rate(fps)
    return rate.denominator == 1001 and round(rate) in _DROP_FRAMES


def seconds_to_frames(seconds: float, fps: float) -> int:
    """Nearest whole frame (halves round up), computed on the exact rate."""
    seconds = _number(seconds, "seconds")
    return math.floor(Fraction(seconds) * frame_rate(fps) + Fraction(1, 2))


def frames_to_seconds(frames: int, fps: float) -> float:
    """Seconds of a frame count on the exact rate, rounded to 6 decimals (well under a frame at any rate)."""
    return round(float(Fraction(int(frames)) / frame_rate(fps)), 6)


def frame_duration(fps: float) -> float:
    """One frame in seconds, for messages and snapping."""
    return float(1 / frame_rate(fps))


def _check_drop(fps: float) -> int:
    if not supports_drop_frame(fps):
        raise Invalid("Drop-frame timecode exists only for 29.97 and 59.94 fps.", field="drop_frame")
    return _DROP_FRAMES[timecode_base(fps)]


def timecode(frames: int, fps: float, drop_frame: bool = False) -> str:
    """ "HH:MM:SS:FF" on the nominal base; drop-frame (29.97/59.94 only) is written "HH:MM:SS;FF".

    Drop-frame skips frame numbers 0 and 1 (0–3 at 59.94) at the start of every minute except each
    tenth, so the label stays within a frame of wall-clock time.
    """
    base = timecode_base(fps)
    sign, number = ("-", -int(frames)) if frames < 0 else ("", int(frames))
    if drop_frame:
        drop = _check_drop(fps)
        per_minute = base * 60 - drop
        per_ten_minutes = base * 600 - drop * 9
        tens, rest = divmod(number, per_ten_minutes)
        number += drop * 9 * tens + (drop * ((rest - drop) // per_minute) if rest > drop else 0)
    total_seconds, ff = divmod(number, base)
    hh, remainder = divmod(total_seconds, 3600)
    mm, ss = divmod(remainder, 60)
    return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}{';' if drop_frame else ':'}{ff:02d}"


def parse_timecode(text: str, fps: float, drop_frame: bool = False) -> int:
    """The frame count of "HH:MM:SS:FF"; a ';' before the frames means drop-frame as well as drop_frame=True."""
    match = _TIMECODE.match(text or "")
    if not match:
        raise Invalid(f"“{text}” is not a timecode like 00:01:02:03.", field="timecode")
    sign, hh, mm, ss, separator, ff = match.groups()
    hours, minutes, seconds, frame = int(hh), int(mm), int(ss), int(ff)
    base = timecode_base(fps)
    if minutes > 59 or seconds > 59:
        raise Invalid(f"“{text}”: minutes and seconds go up to 59.", field="timecode")
    if frame >= base:
        raise Invalid(f"“{text}”: frames go up to {base - 1} at {fps:g} fps.", field="timecode")
    number = ((hours * 60 + minutes) * 60 + seconds) * base + frame
    if drop_frame or separator == ";":
        drop = _check_drop(fps)
        if seconds == 0 and minutes % 10 and frame < drop:
            raise Invalid(f"“{text}” is skipped in drop-frame timecode.", field="timecode")
        total_minutes = hours * 60 + minutes
        number -= drop * (total_minutes - total_minutes // 10)
    return -number if sign else number
