"""Pydantic's validation errors as plain words a person can act on, every field at once.

The validation library says "String should have at least 1 character"; a form says "Name: write at
least 1 character." beside the name field, and names every field at fault in one go."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from data.errors import Invalid


def _number(value: Any) -> str:
    """0.0 reads as 0, 0.5 as 0.5."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _plain(label: str, problem: Mapping[str, Any]) -> str:
    kind = str(problem.get("type", ""))
    context = problem.get("ctx") or {}
    limits = {
        "string_too_short": "write at least {min_length} character{s_min}",
        "string_too_long": "use at most {max_length} character{s_max}",
        "too_short": "give at least {min_length}",
        "too_long": "give at most {max_length}",
        "greater_than_equal": "use {ge} or more",
        "greater_than": "use more than {gt}",
        "less_than_equal": "use {le} or less",
        "less_than": "use less than {lt}",
        "multiple_of": "use a multiple of {multiple_of}",
    }
    if kind == "missing":
        return f"{label}: this is required."
    if kind in ("string_too_short",) and context.get("min_length") == 1:
        return f"{label}: this cannot be empty."
    if kind in limits:
        values = {
            **{key: _number(value) for key, value in context.items()},
            "s_min": "" if context.get("min_length") == 1 else "s",
            "s_max": "" if context.get("max_length") == 1 else "s",
        }
        return f"{label}: {limits[kind].format(**values)}."
    if kind in ("int_parsing", "int_type", "float_parsing", "float_type", "int_from_float"):
        return f"{label}: enter a {'whole ' if kind.startswith('int') else ''}number."
    if kind in ("bool_parsing", "bool_type"):
        return f"{label}: choose yes or no."
    if kind == "literal_error" and context.get("expected"):
        return f"{label}: choose {context['expected']}."
    if kind in ("string_type",):
        return f"{label}: enter text."
    message = str(problem.get("msg", "")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return f"{label}: {message[:1].lower()}{message[1:]}" if message else f"{label}: not valid."


# How forms name the fields of our entities (any field not here: its name, spaced and capitalised).
LABELS: dict[str, str] = {
    "url": "URL",
    "base_url": "URL",
    "api_key": "API key",
    "runpod_endpoint_id": "RunPod endpoint id",
    "runpod_api_key": "RunPod API key",
    "max_jobs": "Max jobs",
    "fps": "Frame rate",
    "cfg": "CFG",
    "ruler": "Ruler units",
    "snap": "Snapping",
    "drop_frame": "Drop-frame timecode",
    "checkpoint": "Model",
}


def _label(location: tuple[Any, ...] | list[Any], labels: Mapping[str, str]) -> str:
    """("scenes", 0, "clips", 2, "duration_frames") → "Scene 1, clip 3, duration frames"."""
    parts: list[str] = []
    items = list(location)
    for index, part in enumerate(items):
        if isinstance(part, int):
            continue
        text = labels.get(str(part)) or str(part).replace("_", " ")
        following = items[index + 1] if index + 1 < len(items) else None
        if isinstance(following, int):
            text = f"{text.removesuffix('s')} {following + 1}"
        parts.append(text)
    joined = ", ".join(parts) or "Value"
    return joined[:1].upper() + joined[1:]


def field_name(problem: Mapping[str, Any]) -> str | None:
    return ".".join(str(part) for part in problem.get("loc") or ()) or None


def invalid_from(error: ValidationError, labels: Mapping[str, str] | None = None) -> Invalid:
    """Every problem of the error, each in plain words under its field; the message lists them all."""
    labels = {**LABELS, **(labels or {})}
    fields: dict[str, str] = {}
    loose: list[str] = []
    for problem in error.errors():
        name = field_name(problem)
        label = labels.get(name or "") or _label(problem.get("loc") or (), labels)
        text = _plain(label, problem)
        if name is None:
            loose.append(text)
        else:
            fields.setdefault(name, text)
    message = " ".join([*fields.values(), *loose])
    return Invalid(message, fields=fields)
