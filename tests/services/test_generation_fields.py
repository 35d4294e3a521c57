"""Generation parameters' limits are declared once: every shape that carries a parameter takes the same bounds."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from app.services.batches import BatchSettings
from app.services.generation import GenerateRequest, GenerationSettings
from app.services.generation_defaults import GenerationDefaults
from app.services.generation_params import GenerationParams
from data.models.generation_fields import SEED_MAX, STEPS_MAX, VARIATIONS_MAX

SHAPES: list[type[BaseModel]] = [
    GenerationParams,
    GenerationSettings,
    GenerateRequest,
    GenerationDefaults,
    BatchSettings,
]
SHARED = ("seed", "steps", "cfg", "width", "height", "sampler", "scheduler", "checkpoint", "variations")


def _bounds(shape: type[BaseModel], name: str) -> dict[str, Any]:
    schema = shape.model_json_schema()["properties"][name]
    options = schema.get("anyOf", [schema])
    keys = ("minimum", "maximum", "multipleOf", "maxLength")
    return {key: option[key] for option in options for key in keys if key in option}


@pytest.mark.parametrize("name", SHARED)
def test_every_shape_carrying_a_parameter_bounds_it_the_same(name: str) -> None:
    found = {shape.__name__: _bounds(shape, name) for shape in SHAPES if name in shape.model_fields}
    assert len(found) >= 2, found
    first = next(iter(found.values()))
    assert all(bounds == first for bounds in found.values()), found


def test_the_bounds_are_the_declared_ones() -> None:
    assert _bounds(GenerationSettings, "steps")["maximum"] == STEPS_MAX
    assert _bounds(GenerationDefaults, "seed")["maximum"] == SEED_MAX
    with pytest.raises(ValidationError):
        GenerationParams(seed=SEED_MAX + 1)
    with pytest.raises(ValidationError):
        GenerationDefaults(variations=VARIATIONS_MAX + 1)
