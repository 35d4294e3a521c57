"""A prompt field with a highlighted echo of its text: weights `(word:1.2)`, LoRA tags and `{variables}`.

The echo is drawn from `prompt_compose.highlight_spans`, the same rules the server applies, so a variable
the service would refuse shows red here before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from app.services.prompt_compose import VARIABLES, highlight_spans

CSS = """
.sc-prompt-echo { font-family: ui-monospace, monospace; font-size: 11px; line-height: 1.45; white-space: pre-wrap;
  word-break: break-word; color: var(--sc-text-muted); min-height: 1.45em; }
.sc-prompt-echo .sc-hl-weight { color: #ffd479; background: rgba(255, 212, 121, .10); border-radius: 2px; }
.sc-prompt-echo .sc-hl-lora { color: #c3a6ff; background: rgba(195, 166, 255, .10); border-radius: 2px; }
.sc-prompt-echo .sc-hl-variable { color: #7cd4fd; background: rgba(124, 212, 253, .10); border-radius: 2px; }
.sc-prompt-echo .sc-hl-unknown-variable { color: #ff8a80; text-decoration: underline wavy; }
"""
VARIABLE_HINT = "Variables: " + " ".join(f"{{{name}}}" for name in VARIABLES) + " · weights: (word:1.2)"


def echo_spans(text: str) -> list[list[str | None]]:
    """The text cut into [kind, part] pairs (kind None for plain text); joined, the parts are the text."""
    out: list[list[str | None]] = []
    at = 0
    for span in highlight_spans(text):
        if span.start > at:
            out.append([None, text[at : span.start]])
        out.append([span.kind, text[span.start : span.end]])
        at = span.end
    if at < len(text):
        out.append([None, text[at:]])
    return out


class PromptEcho(ui.element, component="prompt_echo.js"):
    """The echo: a small Vue component that draws the spans as text, so a prompt is never markup."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.show(text)

    def show(self, text: str) -> None:
        self._props["spans"] = echo_spans(text)  # a changed prop sends the element again

    def _displayed_contents(self, *, only_visible: bool) -> list[Any]:
        return ["".join(str(part) for _kind, part in self._props["spans"])]


class PromptEditor:
    """A textarea and its echo; `on_change` gets the new text (the dialog recomposes its preview)."""

    def __init__(self, label: str, value: str, on_change: Callable[[str], None], *, testid: str, rows: int = 3) -> None:
        ui.add_css(CSS)
        self.on_change = on_change
        with ui.column().classes("w-full gap-0"):
            self.input = (
                ui.textarea(label, value=value, on_change=lambda e: self._changed(e.value or ""))
                .props("outlined dense autogrow")
                .classes("w-full")
            )
            self.input.props.update({"input-style": f"min-height: {rows * 1.4}em", "data-testid": testid})
            self.echo = PromptEcho(value).classes("sc-prompt-echo px-1")
            self.echo.props["data-testid"] = f"{testid}-echo"

    @property
    def value(self) -> str:
        return str(self.input.value or "")

    def set_value(self, text: str) -> None:
        self.input.set_value(text)

    def _changed(self, text: str) -> None:
        self.echo.show(text)
        self.on_change(text)
