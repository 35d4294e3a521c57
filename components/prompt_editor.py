"""A prompt field with a highlighted echo of its text: weights `(word:1.2)`, LoRA tags and `{variables}`.

The echo is drawn from `prompt_compose.highlight_spans`, the same rules the server applies, so a variable
the service would refuse shows red here before anything is sent.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from nicegui import ui

from app.services.prompt_compose import VARIABLES, highlight_spans

CSS = """
.sc-prompt-echo { font-family: ui-monospace, monospace; font-size: 11px; line-height: 1.45; white-space: pre-wrap;
  word-break: break-word; color: var(--sc-muted, #9aa4b2); min-height: 1.45em; }
.sc-prompt-echo .sc-hl-weight { color: #ffd479; background: rgba(255, 212, 121, .10); border-radius: 2px; }
.sc-prompt-echo .sc-hl-lora { color: #c3a6ff; background: rgba(195, 166, 255, .10); border-radius: 2px; }
.sc-prompt-echo .sc-hl-variable { color: #7cd4fd; background: rgba(124, 212, 253, .10); border-radius: 2px; }
.sc-prompt-echo .sc-hl-unknown-variable { color: #ff8a80; text-decoration: underline wavy; }
"""
VARIABLE_HINT = "Variables: " + " ".join(f"{{{name}}}" for name in VARIABLES) + " · weights: (word:1.2)"


def highlighted_html(text: str) -> str:
    """The text, escaped, with each highlighted span wrapped in a class the CSS colours."""
    out: list[str] = []
    at = 0
    for span in highlight_spans(text):
        out.append(html.escape(text[at : span.start]))
        out.append(f'<span class="sc-hl-{span.kind}">{html.escape(text[span.start : span.end])}</span>')
        at = span.end
    out.append(html.escape(text[at:]))
    return "".join(out)


class PromptEditor:
    """A textarea and its echo; `on_change` gets the new text (the dialog recomposes its preview)."""

    def __init__(self, label: str, value: str, on_change: Callable[[str], None], *, testid: str, rows: int = 3) -> None:
        ui.add_css(CSS)
        self.on_change = on_change
        with ui.column().classes("w-full gap-0"):
            self.input = (
                ui.textarea(label, value=value, on_change=lambda e: self._changed(e.value or ""))
                .props(f'outlined dense autogrow input-style="min-height: {rows * 1.4}em" data-testid="{testid}"')
                .classes("w-full")
            )
            self.echo = (
                ui.html(highlighted_html(value), sanitize=False)
                .classes("sc-prompt-echo px-1")
                .props(f'data-testid="{testid}-echo"')
            )

    @property
    def value(self) -> str:
        return str(self.input.value or "")

    def set_value(self, text: str) -> None:
        self.input.set_value(text)

    def _changed(self, text: str) -> None:
        self.echo.set_content(highlighted_html(text))
        self.on_change(text)
