"""Form errors beside the fields at fault, all at once, gone as soon as the field is edited.

A domain error names each field at fault (`DomainError.fields`); a field not on the form, or an error
about no field, goes in the form's summary line. The fields are NiceGUI inputs, whose own `error`
(a property value, never markup) shows under the field and is cleared by their next edit."""

from __future__ import annotations

from collections.abc import Mapping

from nicegui import ui
from nicegui.elements.mixins.validation_element import ValidationElement

from data.errors import DomainError


class FieldErrors:
    def __init__(self, fields: Mapping[str, ValidationElement], summary: ui.label) -> None:
        self.fields, self.summary = dict(fields), summary

    def clear(self) -> None:
        """Before a new attempt: no field marked, no summary."""
        for element in self.fields.values():
            element.error = None
        self.summary.set_text("")

    def show(self, failure: DomainError) -> None:
        """Each field's own message under it; the rest in the summary."""
        self.clear()
        problems = failure.fields or {}
        for name, text in problems.items():
            if name in self.fields:
                self.fields[name].error = text
        rest = [text for name, text in problems.items() if name not in self.fields]
        if not problems:
            rest = [failure.message]
        self.summary.set_text(" ".join(rest) if rest else "Fix the marked fields.")
