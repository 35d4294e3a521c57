"""The flush check: user text with a control character is refused, peer text is cleaned, never refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.services import text_guard
from data.errors import Invalid
from data.models import Notification, Project


def test_user_text_with_a_nul_is_refused_at_flush_naming_the_field(db, make_user) -> None:
    owner = make_user("alice")
    db.add(Project(owner_id=owner.id, name="ok\x00"))
    with pytest.raises(Invalid) as refused:
        db.flush()
    assert refused.value.field == "name"
    db.rollback()


def test_peer_text_is_cleaned_of_terminal_colours_and_controls(db, make_user) -> None:
    owner = make_user("alice")
    notice = Notification(
        user_id=owner.id, kind="job_failed", title="Failed\x00", body="\x1b[31mCUDA out of memory\x1b[0m\x07\nat node 3"
    )
    db.add(notice)
    db.commit()
    db.refresh(notice)
    assert notice.title == "Failed"
    assert notice.body == "CUDA out of memory\nat node 3"


@given(st.text())
def test_cleaned_text_never_holds_a_control_character(value: str) -> None:
    assert text_guard.find_control(text_guard.clean(value)) is None


def test_json_nested_past_the_limit_is_refused() -> None:
    deep: dict = {}
    cursor = deep
    for _ in range(text_guard.MAX_JSON_DEPTH + 5):
        cursor["x"] = {}
        cursor = cursor["x"]
    with pytest.raises(Invalid):
        text_guard.check_text(deep, "graph")
    text_guard.check_text({"a": [{"b": "tab\tand\nnewline"}]}, "graph")
