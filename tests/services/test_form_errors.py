"""Validation errors in plain words, every field at once, each under its own field."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, ValidationError

from app.services import form_errors, projects
from data.errors import Invalid


class _Form(BaseModel):
    name: str = Field(min_length=1, max_length=5)
    width: int = Field(ge=64, le=8192)
    url: str
    ratio: float = Field(gt=0)


def _refused(**values: object) -> Invalid:
    with pytest.raises(ValidationError) as error:
        _Form(**values)  # type: ignore[arg-type]  # deliberately wrong values
    return form_errors.invalid_from(error.value)


def test_every_field_at_fault_is_named_in_plain_words() -> None:
    refused = _refused(name="", width=10, ratio="x")
    assert refused.fields == {
        "name": "Name: this cannot be empty.",
        "width": "Width: use 64 or more.",
        "url": "URL: this is required.",
        "ratio": "Ratio: enter a number.",
    }
    assert refused.field == "name"
    assert refused.message == " ".join(refused.fields.values())
    assert "should" not in refused.message.lower()  # none of the validation library's own wording


def test_limits_are_said_as_what_to_do() -> None:
    assert _refused(name="toolong", width=9000, url="u", ratio=0).fields == {
        "name": "Name: use at most 5 characters.",
        "width": "Width: use 8192 or less.",
        "ratio": "Ratio: use more than 0.",
    }


def test_the_project_forms_use_it() -> None:
    with pytest.raises(Invalid) as refused:
        projects.parse_create(name="", width=10, height="abc", fps=24)
    assert refused.value.fields == {
        "name": "Name: this cannot be empty.",
        "width": "Width: use 64 or more.",
        "height": "Height: enter a whole number.",
    }
