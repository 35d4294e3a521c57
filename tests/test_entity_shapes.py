"""One shape per entity, the full-stack template's way: a Base with the fields a person sets and their limits,
shared by the table and the REST shapes, all in data/models; the API defines none of its own for them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydantic import ValidationError

from data import models

ROOT = Path(__file__).resolve().parents[1]

ENTITIES = {
    # Base: (table, the REST shapes built on the Base)
    models.SceneBase: (models.Scene, [models.SceneCreate, models.ScenePublic]),
    models.ClipBase: (models.Clip, [models.ClipCreate, models.ClipPublic]),
    models.ServerBase: (models.ComfyServer, [models.ServerCreate, models.ServerPublic]),
    models.WorkflowBase: (models.WorkflowTemplate, [models.WorkflowPublic]),
    models.JobBase: (models.GenerationJob, [models.JobPublic, models.JobDetailPublic]),
    models.BatchBase: (models.Batch, []),
}


@pytest.mark.parametrize("base", list(ENTITIES), ids=lambda base: base.__name__)
def test_the_table_and_its_rest_shapes_share_one_base(base: type) -> None:
    table, shapes = ENTITIES[base]
    for shape in (table, *shapes):
        assert issubclass(shape, base), f"{shape.__name__} does not build on {base.__name__}"
        assert shape.__module__.startswith("data.models"), shape.__module__


def test_the_limits_of_the_base_hold_in_the_table_and_in_requests() -> None:
    assert models.Scene.__table__.c.name.type.length == models.SCENE_NAME_MAX  # type: ignore[attr-defined]  # a table model has __table__
    assert models.Clip.__table__.c.label.type.length == models.CLIP_TEXT_LIMITS["label"]  # type: ignore[attr-defined]  # a table model has __table__
    assert models.ComfyServer.__table__.c.name.type.length == models.SERVER_NAME_MAX  # type: ignore[attr-defined]  # a table model has __table__
    with pytest.raises(ValidationError):
        models.SceneCreate(name="x" * (models.SCENE_NAME_MAX + 1))
    with pytest.raises(ValidationError):
        models.SceneUpdate(name="")
    with pytest.raises(ValidationError):
        models.ClipCreate(label="x" * (models.CLIP_TEXT_LIMITS["label"] + 1))
    with pytest.raises(ValidationError):
        models.ServerCreate(name="gpu", url="http://gpu:8188", max_jobs=models.MAX_JOBS_LIMIT + 1)
    with pytest.raises(ValidationError):
        models.ServerUpdate(url="ftp://gpu")


def test_the_api_declares_no_entity_shapes_of_its_own() -> None:
    names = {f"{entity}{kind}" for entity in ("Scene", "Clip", "Server", "Workflow", "Job", "Batch")
             for kind in ("Base", "Create", "Update", "Public")}
    declared = {
        f"{path.name}: {node.name}"
        for path in (ROOT / "app" / "api").glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and node.name in names
    }
    assert declared == set()
