import pytest

from app.services import users
from app.services.security import decrypt_secret
from data.errors import Conflict, Forbidden, Invalid


def test_first_account_is_admin_and_later_ones_are_not(db) -> None:
    from app.services import studio_settings

    first = users.register(db, users.validate_registration("ada", "ada@example.com", "long-enough"))
    studio_settings.update(db, first, open_registration=True)  # closed by default after the first account
    second = users.register(db, users.validate_registration("bob", "bob@example.com", "long-enough"))
    assert first.is_admin and not second.is_admin
    assert first.password_hash != "long-enough" and first.password_hash.startswith("$argon2")


def test_names_and_emails_are_unique_ignoring_case(db, make_user) -> None:
    make_user("ada")
    with pytest.raises(Conflict, match="username is taken"):
        users.register(db, users.validate_registration("ADA", "other@example.com", "long-enough"), force=True)
    with pytest.raises(Conflict, match="email exists"):
        users.register(db, users.validate_registration("other", "Ada@Example.com", "long-enough"), force=True)


def test_closed_registration_refuses_everyone_but_the_first(db, make_user, monkeypatch) -> None:
    monkeypatch.setenv("STORYCANVAS_OPEN_REGISTRATION", "false")
    from app.config import reset_settings

    reset_settings()
    try:
        users.register(db, users.validate_registration("first", "first@example.com", "long-enough"))
        with pytest.raises(Forbidden, match="closed"):
            users.register(db, users.validate_registration("second", "second@example.com", "long-enough"))
    finally:
        monkeypatch.undo()
        reset_settings()


def test_registration_input_errors_name_the_field(db) -> None:
    with pytest.raises(Invalid) as error:
        users.validate_registration("ok-name", "not-an-email", "long-enough")
    assert error.value.field == "email"
    with pytest.raises(Invalid) as error:
        users.validate_registration("ok-name", "a@example.com", "short")
    assert error.value.field == "password"


def test_sign_in_by_name_or_email_and_none_for_wrong_password(db, make_user) -> None:
    make_user("ada")
    assert users.authenticate(db, "ada", "correct-horse-1") is not None
    assert users.authenticate(db, "ADA@example.com", "correct-horse-1") is not None
    assert users.authenticate(db, "ada", "wrong-horse") is None
    assert users.authenticate(db, "nobody", "correct-horse-1") is None


def test_change_password_checks_the_current_one_and_bumps_the_token_version(db, make_user) -> None:
    user = make_user("ada")
    with pytest.raises(Invalid, match="current password is wrong"):
        users.change_password(db, user, "nope", "new-password-1")
    changed = users.change_password(db, user, "correct-horse-1", "new-password-1")
    assert changed.token_version == 1
    assert users.authenticate(db, "ada", "new-password-1") is not None


def test_api_keys_round_trip_encrypted(db, make_user) -> None:
    user = make_user("ada")
    users.set_api_key(db, user, "comfyui", "comfy-secret-123456")
    db.commit()
    views = {v.provider: v for v in users.list_api_keys(db, user)}
    assert views["comfyui"].configured and views["comfyui"].hint == "com…3456"
    assert users.get_api_key(db, user, "comfyui") == "comfy-secret-123456"
    from sqlmodel import select

    from data.models import ApiCredential

    row = db.exec(select(ApiCredential)).one()
    assert "comfy-secret" not in row.encrypted_key
    assert decrypt_secret(row.encrypted_key) == "comfy-secret-123456"
    with pytest.raises(Invalid):
        users.set_api_key(db, user, "midjourney", "x")


def test_a_saved_api_key_is_committed_for_that_account_only(db, make_user) -> None:
    from data.engine import session_scope

    alice, bob = make_user("alice"), make_user("bob")
    views = {v.provider: v for v in users.save_api_key(db, alice, "comfyui", "comfy-secret-123456")}
    assert views["comfyui"].configured
    with session_scope() as other:  # committed: another session sees it
        assert users.get_api_key(other, alice, "comfyui") == "comfy-secret-123456"
        assert users.get_api_key(other, bob, "comfyui") is None
    users.save_api_key(db, alice, "comfyui", "")
    with session_scope() as other:
        assert users.get_api_key(other, alice, "comfyui") is None


def test_the_acting_administrator_is_read_as_stored_now(db, make_user) -> None:
    """A page holds the account it was opened with: a demotion since then counts at the next action."""
    from app.services import user_admin

    root, other = make_user("root", admin=True), make_user("other", admin=True)
    db.expunge(root)  # the copy the page holds
    user_admin.update_account(db, other, root.id, is_admin=False)
    assert root.is_admin
    with pytest.raises(Forbidden):
        user_admin.list_accounts(db, user_admin.stored_actor(db, root))


def test_a_theme_is_set_on_the_acting_users_own_row_only(db, make_user) -> None:
    from data.engine import session_scope
    from data.errors import Unauthorized
    from data.models import User

    ada, bob = make_user("ada"), make_user("bob")
    held = User(**ada.model_dump())  # a page's signed-in user, from another session
    held.email = "stale@example.com"  # a stale field is not written back
    with session_scope() as page_session:
        users.set_theme(page_session, held, "light")
    db.expire_all()
    assert db.get(User, ada.id).theme == "light"  # type: ignore[union-attr]
    assert db.get(User, ada.id).email == "ada@example.com"  # type: ignore[union-attr]
    assert db.get(User, bob.id).theme == bob.theme  # type: ignore[union-attr]
    with pytest.raises(Invalid, match="dark or light"):
        users.set_theme(db, ada, "sepia")
    with pytest.raises(Unauthorized):
        users.set_theme(db, User(**{**ada.model_dump(), "id": 999_999}), "dark")
