"""Counted nouns for messages: "1 job", "2 jobs", never "job(s)".

Every layer writes messages a person reads (errors in data/, warnings in exports, notices in services,
labels in pages), so the one helper lives at the bottom."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None, *, thousands: bool = False) -> str:
    """`counted(1, "clip")` → "1 clip"; `counted(3, "entry", "entries")` → "3 entries"."""
    number = f"{count:,}" if thousands else str(count)
    return f"{number} {noun if count == 1 else plural or noun + 's'}"


def agree(count: int, singular: str, plural: str) -> str:
    """The verb that goes with a count: `agree(n, "is", "are")`, `agree(n, "has", "have")`."""
    return singular if count == 1 else plural
