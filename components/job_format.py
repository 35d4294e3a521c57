"""How jobs read on screen: status colours, kind icons, and short texts for waits, ages and durations."""

from __future__ import annotations

from datetime import datetime

from app.services.job_views import JobView
from data.models._common import utcnow

# Quasar colour names: queued grey, dispatched blue-grey, running primary, completed green, failed red, cancelled muted.
STATUS_COLORS: dict[str, str] = {
    "queued": "grey-7",
    "dispatched": "blue-grey-5",
    "running": "primary",
    "completed": "positive",
    "failed": "negative",
    "cancelled": "grey-9",
}
STATUS_LABELS: dict[str, str] = {
    "queued": "Queued",
    "dispatched": "Dispatched",
    "running": "Running",
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
KIND_ICONS: dict[str, str] = {"image": "image", "video": "movie", "faceswap": "face_retouching_natural"}
KIND_LABELS: dict[str, str] = {"image": "Image", "video": "Video", "faceswap": "Face swap"}


def approx_duration(seconds: float) -> str:
    """ "~45 s", "~2 min", "~1 h 20 min": waits are rough, and say so."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"~{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"~{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"~{hours} h {rest} min" if rest else f"~{hours} h"


def clock(seconds: float) -> str:
    """A run time as 0:42 or 1:02:03."""
    total = round(max(0.0, seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def age(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return ""
    seconds = ((now or utcnow()) - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def queue_text(view: JobView, now: datetime | None = None) -> str:
    """ "#3 · ~2 min" for a queued job; a retry says when it may run again."""
    if view.queue_position is None:
        return ""
    text = f"#{view.queue_position}"
    now = now or utcnow()
    if view.next_attempt_at is not None and view.next_attempt_at > now:
        return f"{text} · retry in {approx_duration((view.next_attempt_at - now).total_seconds())}"
    if view.estimated_wait_s is None:
        return f"{text} · no server online"
    return f"{text} · {approx_duration(view.estimated_wait_s)}"


def progress_text(view: JobView) -> str:
    """What an active job is doing: "42% · KSampler"."""
    if view.cancel_requested:
        return "cancelling…"
    if view.status == "dispatched":
        return f"sent to {view.server_name}" if view.server_name else "sent to a server"
    percent = f"{round(view.progress * 100)}%"
    return f"{percent} · {view.current_node}" if view.current_node else percent


def shorten(text: str | None, limit: int = 90) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def where(view: JobView) -> str:
    """ "Film › Opening · #3", or only the project for a job without a clip."""
    return f"{view.project_name} › {view.clip_label}" if view.clip_label else view.project_name
