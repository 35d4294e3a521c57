"""Replacing the installation's secret key without losing what it protects.

The key signs API tokens, result share links and NiceGUI's storage cookie, and encrypts the secrets kept
in the database (users' API keys, servers' API and RunPod keys, invitation tokens). Changing it by hand
leaves those secrets unreadable, so a rotation:

- decrypts every stored secret with the old key and encrypts it with the new one, in one transaction:
  all or nothing. A value the old key cannot read stops the rotation before anything changes, unless
  the operator chooses to clear such values (each one is listed);
- ends every browser session and bumps every user's token version in the same transaction, so no
  token, cookie or session from before the rotation works afterwards;
- writes the new key where the old one came from: the data directory's `secret_key` file (0600). A key
  given in the environment cannot be changed from here: the caller shows the new key once and the
  operator sets STORYCANVAS_SECRET_KEY to it.

It runs with the app stopped: a running app keeps the old key in memory and would go on writing with it.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.schema import Table

from app.config import Settings, get_settings
from data.engine import get_engine
from data.errors import Invalid
from data.models import ApiCredential, ComfyServer, Invitation, User
from data.models.users import BrowserSession
from data.words import counted

from .security import fernet_for

KeySource = Literal["environment", "file"]
KEY_FILE_NAME = "secret_key"
MIN_KEY_LENGTH = 32
ENV_VARIABLE = "STORYCANVAS_SECRET_KEY"


@dataclass(frozen=True)
class EncryptedColumn:
    """A column holding values encrypted with the installation's key, and how to clear an unreadable one."""

    table: Table
    column: str
    # "null": the column may be empty (the thing works without it); "empty": '' means none;
    # "delete": the row is only the secret, so it goes.
    clear_by: Literal["null", "empty", "delete"]
    # Extra columns read only to tell the operator which row is meant.
    described_by: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column}"


def _table(model: Any) -> Table:
    return model.__table__


# Every column filled by security.encrypt_secret; a new one must be added here or a rotation loses it
# (tests/cli/test_rotate_secret_key.py checks the models for columns named like these).
ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = (
    EncryptedColumn(_table(ApiCredential), "encrypted_key", "delete", ("user_id", "provider")),
    EncryptedColumn(_table(ComfyServer), "encrypted_api_key", "null", ("name",)),
    EncryptedColumn(_table(ComfyServer), "encrypted_runpod_key", "null", ("name",)),
    EncryptedColumn(_table(Invitation), "token_encrypted", "empty", ("email",)),
)


@dataclass(frozen=True)
class CurrentKey:
    value: str
    source: KeySource
    path: Path  # the key file (written only when source == "file")


@dataclass(frozen=True)
class UnreadableValue:
    """One stored secret the old key cannot decrypt: where it is, in words an operator can look up."""

    column: str  # table.column
    row_id: int
    about: str
    cleared_by: str

    def describe(self) -> str:
        return f"{self.column} row {self.row_id} ({self.about})"


@dataclass
class RotationReport:
    key_source: KeySource
    key_file: Path
    new_key: str
    key_generated: bool
    reencrypted: dict[str, int] = field(default_factory=dict)
    cleared: list[UnreadableValue] = field(default_factory=list)
    browser_sessions_ended: int = 0
    users_signed_out: int = 0


class UnreadableSecrets(Invalid):
    """Stored values the old key cannot read; nothing was changed."""

    def __init__(self, values: list[UnreadableValue]) -> None:
        lines = "\n".join(f"  - {value.describe()}" for value in values)
        super().__init__(
            f"{counted(len(values), 'stored secret')} cannot be decrypted with the current key, so nothing "
            f"was changed:\n"
            f"{lines}\n"
            "If the key was changed by hand, put the old one back and rotate from it; otherwise run again with "
            "--drop-unreadable to clear these values (their owners then enter them again)."
        )
        self.values = values


def current_key(settings: Settings | None = None) -> CurrentKey:
    """The key the app would use, and where it comes from; never generates one (unlike the app)."""
    settings = settings or get_settings()
    key_file = settings.data_dir / KEY_FILE_NAME
    if settings.secret_key:
        return CurrentKey(settings.secret_key, "environment", key_file)
    if key_file.exists():
        value = key_file.read_text().strip()
        if value:
            return CurrentKey(value, "file", key_file)
    raise Invalid(
        f"There is no secret key yet ({ENV_VARIABLE} is not set and {key_file} does not exist): the app makes "
        "one when it first starts, and there is nothing to rotate before that."
    )


def check_new_key(new_key: str, old_key: str) -> None:
    """A key the app reads back unchanged (the key file is stripped) and that is hard to guess."""
    if new_key != new_key.strip() or any(not character.isprintable() or character.isspace() for character in new_key):
        raise Invalid("The new key must not contain spaces, line breaks or control characters.", field="new_key")
    if len(new_key) < MIN_KEY_LENGTH:
        raise Invalid(
            f"The new key is {len(new_key)} characters long; use at least {MIN_KEY_LENGTH} "
            "(or leave --new-key out and one is generated).",
            field="new_key",
        )
    if new_key == old_key:
        raise Invalid("The new key is the current key: give a different one.", field="new_key")


def generate_key() -> str:
    """The same shape as the key the app generates on first start."""
    return secrets.token_urlsafe(48)


def _describe_row(column: EncryptedColumn, row: Any) -> str:
    # repr() keeps names typed by users from writing control characters to the operator's terminal.
    if column.table.name == "api_credentials":
        return f"user {row.user_id}'s {row.provider!r} key"
    if column.table.name == "comfy_servers":
        kind = "RunPod key" if column.column == "encrypted_runpod_key" else "API key"
        return f"server {row.name!r}, {kind}"
    return f"invitation for {row.email!r}" if row.email else "invitation for anyone"


_CLEARED_BY = {
    "delete": "the stored key was removed; its user enters it again on the Account page",
    "null": "the key was removed; an administrator enters it again on the Servers page",
    "empty": "the link can no longer be copied from the Users page; it still works, or revoke it and invite again",
}


def _read_all(
    connection: Connection, old: Fernet
) -> tuple[list[tuple[EncryptedColumn, int, str]], list[tuple[EncryptedColumn, UnreadableValue]]]:
    """Every stored secret decrypted with the old key, and the ones it cannot read; rows locked on PostgreSQL."""
    readable: list[tuple[EncryptedColumn, int, str]] = []
    unreadable: list[tuple[EncryptedColumn, UnreadableValue]] = []
    for column in ENCRYPTED_COLUMNS:
        table = column.table
        value_column = table.c[column.column]
        query = (
            select(table.c.id, value_column, *(table.c[name] for name in column.described_by))
            .where(value_column.is_not(None), value_column != "")
            .order_by(table.c.id)
            .with_for_update()
        )
        for row in connection.execute(query):
            try:
                plaintext = old.decrypt(row[1].encode()).decode()
            except (InvalidToken, UnicodeError):
                unreadable.append(
                    (
                        column,
                        UnreadableValue(column.name, row.id, _describe_row(column, row), _CLEARED_BY[column.clear_by]),
                    )
                )
                continue
            readable.append((column, row.id, plaintext))
    return readable, unreadable


def _clear(connection: Connection, column: EncryptedColumn, row_id: int) -> None:
    table = column.table
    if column.clear_by == "delete":
        connection.execute(delete(table).where(table.c.id == row_id))
    else:
        connection.execute(
            update(table).where(table.c.id == row_id).values({column.column: None if column.clear_by == "null" else ""})
        )


def _stage_key_file(key_file: Path, new_key: str) -> Path:
    """The new key written next to the key file (0600, synced): renaming it over the old one cannot half-fail."""
    descriptor, name = tempfile.mkstemp(prefix=f"{KEY_FILE_NAME}.", suffix=".new", dir=key_file.parent)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, new_key.encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return Path(name)


def _sync_directory(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def rotate_secret_key(
    new_key: str | None = None,
    *,
    drop_unreadable: bool = False,
) -> RotationReport:
    """Re-encrypt every stored secret under a new key and end every session, in one transaction.

    Raises UnreadableSecrets (nothing changed) when a value cannot be read with the old key, unless
    drop_unreadable, which clears those values instead and lists them in the report. The key file is
    replaced only after the transaction commits; a key from the environment is left to the operator.
    """
    old = current_key()
    generated = new_key is None
    new_key = generate_key() if new_key is None else new_key
    check_new_key(new_key, old.value)
    old_cipher, new_cipher = fernet_for(old.value), fernet_for(new_key)
    report = RotationReport(old.source, old.path, new_key, generated)

    engine = get_engine()
    staged: Path | None = None
    with engine.connect() as connection, connection.begin() as transaction:
        if connection.dialect.name == "sqlite":
            # pysqlite would begin only at the first UPDATE; take the write lock before reading, as
            # FOR UPDATE does on PostgreSQL, so no value can change between its read and its rewrite.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        readable, unreadable = _read_all(connection, old_cipher)
        if unreadable and not drop_unreadable:
            transaction.rollback()
            raise UnreadableSecrets([value for _, value in unreadable])
        for column in ENCRYPTED_COLUMNS:
            report.reencrypted[column.name] = 0
        for column, row_id, plaintext in readable:
            table = column.table
            connection.execute(
                update(table)
                .where(table.c.id == row_id)
                .values({column.column: new_cipher.encrypt(plaintext.encode()).decode()})
            )
            report.reencrypted[column.name] += 1
        for column, value in unreadable:
            _clear(connection, column, value.row_id)
            report.cleared.append(value)
        sessions = _table(BrowserSession)
        report.browser_sessions_ended = connection.execute(delete(sessions)).rowcount
        users = _table(User)
        report.users_signed_out = connection.execute(
            update(users).values(token_version=users.c.token_version + 1)
        ).rowcount
        if old.source == "file":
            # Staged before the commit so that, once the database holds the new ciphertexts, only a
            # rename (atomic in one folder) stands between it and the key that reads them.
            staged = _stage_key_file(old.path, new_key)
        try:
            transaction.commit()
        except BaseException:
            if staged is not None:
                staged.unlink(missing_ok=True)
            raise
    if staged is not None:
        try:
            os.replace(staged, old.path)
            _sync_directory(old.path.parent)
        except OSError as error:
            raise Invalid(
                f"The database now uses the new key, but {old.path} could not be replaced ({error.strerror}): "
                f"move {staged} to {old.path} (mode 0600) before starting the app."
            ) from error
    return report


def describe(report: RotationReport) -> list[str]:
    """What a rotation did, for the operator: counts per table, cleared values, and what to do next."""
    lines = [f"re-encrypted {counted(count, 'value')} in {name}" for name, count in report.reencrypted.items()]
    for value in report.cleared:
        lines.append(f"cleared unreadable {value.describe()}: {value.cleared_by}")
    lines.append(f"ended {counted(report.browser_sessions_ended, 'browser session')} (browser_sessions)")
    lines.append(
        f"signed out {counted(report.users_signed_out, 'user')} (users.token_version): earlier API tokens answer 401; "
        "result share links made before now no longer open"
    )
    if report.key_source == "file":
        lines.append(f"wrote the new key to {report.key_file} (mode 0600); start the app as usual")
    elif report.key_generated:
        lines.append(f"The key comes from {ENV_VARIABLE}, so nothing was written. The new key, shown only this once:")
        lines.append(f"    {report.new_key}")
        lines.append(f"Set {ENV_VARIABLE} to it (environment or .env) before starting the app: the old key no longer")
        lines.append("reads the stored secrets.")
    else:
        lines.append(
            f"The key comes from {ENV_VARIABLE}, so nothing was written: set {ENV_VARIABLE} to the key given "
            "with --new-key before starting the app (the old key no longer reads the stored secrets)."
        )
    return lines
