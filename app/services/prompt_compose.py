"""The one place a prompt becomes the text a server receives: template variables filled, fragments added.

The dialog's live preview, batches and the REST API all call `compose`, so what a person previews is what is
sent. Later libraries (characters, style templates) add their words through `contributors`: an ordered list of
small objects, each giving fragments placed before or after the clip's own text for one target (image, video,
negative).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlmodel import Session, col, select

from data.errors import Invalid
from data.models import Clip, Project, Scene

Target = Literal["image", "video", "negative"]
TARGET_LABELS: dict[str, str] = {"image": "image prompt", "video": "video prompt", "negative": "negative prompt"}

# `{scene.name}`-style names only: `{red|blue}` (dynamic-prompt choices) and other braces pass through untouched.
VARIABLE = re.compile(r"\{([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\}")
# `(word:1.2)` / `(a long phrase: 0.8)`; nesting is rare in practice and left unhighlighted.
WEIGHT = re.compile(r"\(([^()]+?):\s*(-?\d+(?:\.\d+)?)\s*\)")
LORA_TAG = re.compile(r"<lora:[^<>]+>")


@dataclass(frozen=True)
class PromptContext:
    """What variables and contributors may read; `clip_index` is 1-based in the scene's time order."""

    project: Project
    scene: Scene | None = None
    clip: Clip | None = None
    clip_index: int | None = None


def _scene_index(context: PromptContext) -> int | None:
    return None if context.scene is None else context.scene.position + 1


VARIABLES: dict[str, tuple[str, Callable[[PromptContext], object]]] = {
    "scene.name": ("scene", lambda c: c.scene.name if c.scene else None),
    "scene.index": ("scene", _scene_index),
    "clip.index": ("clip", lambda c: c.clip_index),
    "clip.label": ("clip", lambda c: (c.clip.label or f"Clip {c.clip.id}") if c.clip else None),
    "project.name": ("project", lambda c: c.project.name),
}


@dataclass(frozen=True)
class Contributor:
    """Adds fragments to a prompt; `fragments` returns [] when it has nothing for this target or context."""

    name: str
    fragments: Callable[[PromptContext, Target], Sequence[str]]
    position: Literal["before", "after"] = "after"


@dataclass(frozen=True)
class PromptPart:
    """One piece of the composed prompt and where it came from ("clip" for the person's own text)."""

    source: str
    text: str


@dataclass
class _Registry:
    items: list[Contributor] = field(default_factory=list)


_registry = _Registry()


def contributors() -> list[Contributor]:
    return list(_registry.items)


def register(contributor: Contributor) -> None:
    """Adds (or replaces, by name, keeping its place) a contributor; order of registration is prompt order."""
    for index, existing in enumerate(_registry.items):
        if existing.name == contributor.name:
            _registry.items[index] = contributor
            return
    _registry.items.append(contributor)


def unregister(name: str) -> None:
    _registry.items = [item for item in _registry.items if item.name != name]


def fill_variables(text: str, context: PromptContext, target: Target = "image") -> str:
    """Every known variable replaced; unknown or unavailable ones are named in one Invalid."""
    unknown = sorted({m.group(1) for m in VARIABLE.finditer(text) if m.group(1) not in VARIABLES})
    where = TARGET_LABELS[target]
    if unknown:
        names = ", ".join(f"{{{name}}}" for name in unknown)
        known = ", ".join(f"{{{name}}}" for name in VARIABLES)
        raise Invalid(f"Unknown variable{'s' if len(unknown) > 1 else ''} {names} in the {where}: use {known}.")

    def value(match: re.Match[str]) -> str:
        owner, read = VARIABLES[match.group(1)]
        found = read(context)
        if found is None:
            raise Invalid(f"{{{match.group(1)}}} in the {where} needs a {owner}, and there is none here.")
        return str(found)

    return VARIABLE.sub(value, text)


def _join(parts: Sequence[str]) -> str:
    return ", ".join(part.strip().strip(",").strip() for part in parts if part and part.strip().strip(","))


def compose_parts(
    template_text: str,
    scene: Scene | None,
    clip: Clip | None,
    project: Project,
    *,
    target: Target = "image",
    clip_index: int | None = None,
) -> list[PromptPart]:
    """The prompt in pieces, for a preview that shows which words came from where."""
    context = PromptContext(project=project, scene=scene, clip=clip, clip_index=clip_index)
    before: list[PromptPart] = []
    after: list[PromptPart] = []
    for contributor in _registry.items:
        for fragment in contributor.fragments(context, target):
            text = fill_variables(fragment, context, target).strip()
            if text:
                (before if contributor.position == "before" else after).append(PromptPart(contributor.name, text))
    own = fill_variables(template_text or "", context, target).strip()
    return [*before, *([PromptPart("clip", own)] if own else []), *after]


def compose(
    template_text: str,
    scene: Scene | None,
    clip: Clip | None,
    project: Project,
    *,
    target: Target = "image",
    clip_index: int | None = None,
) -> str:
    """The final text sent to the server: contributors' fragments around the filled-in template, comma-joined."""
    parts = compose_parts(template_text, scene, clip, project, target=target, clip_index=clip_index)
    return _join([part.text for part in parts])


def clip_index(session: Session, clip: Clip) -> int:
    """1-based place of the clip in its scene by start time (ties by id), as the timeline shows them."""
    ids = session.exec(
        select(Clip.id).where(Clip.scene_id == clip.scene_id).order_by(col(Clip.start_frame), col(Clip.id))
    ).all()
    return ids.index(clip.id) + 1 if clip.id in ids else len(ids) + 1


def compose_for_clip(session: Session, clip: Clip, template_text: str, target: Target = "image") -> str:
    """`compose` with the clip's scene, project and index loaded (the clip is assumed visible to the caller)."""
    scene = session.get(Scene, clip.scene_id)
    project = session.get(Project, clip.project_id)
    if project is None:
        raise Invalid("The clip's project is gone.")
    return compose(template_text, scene, clip, project, target=target, clip_index=clip_index(session, clip))


SpanKind = Literal["weight", "variable", "unknown-variable", "lora"]


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: SpanKind


def highlight_spans(text: str) -> list[Span]:
    """Weighted phrases, LoRA tags and template variables (known or not), in text order, never overlapping."""
    found: list[Span] = [Span(m.start(), m.end(), "weight") for m in WEIGHT.finditer(text)]
    found += [Span(m.start(), m.end(), "lora") for m in LORA_TAG.finditer(text)]
    for match in VARIABLE.finditer(text):
        kind: SpanKind = "variable" if match.group(1) in VARIABLES else "unknown-variable"
        found.append(Span(match.start(), match.end(), kind))
    found.sort(key=lambda span: (span.start, -span.end))
    spans: list[Span] = []
    for span in found:
        if spans and span.start < spans[-1].end:
            continue  # a variable inside a weighted phrase: the phrase is highlighted as a whole
        spans.append(span)
    return spans
