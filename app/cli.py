"""The `storycanvas` command: serve (default), create-user, migrate, backup, restore, check, rotate-secret-key."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path


def _prepare_environment() -> None:
    """NiceGUI reads its storage folder at import, so point it into the data directory first."""
    from app.config import get_settings

    settings = get_settings()
    settings.ensure_data_dir()
    os.environ.setdefault("NICEGUI_STORAGE_PATH", str(settings.storage_dir))


def cmd_serve(args: argparse.Namespace) -> int:
    _prepare_environment()
    from app.main import run

    run(host=args.host, port=args.port, forwarded_allow_ips=args.forwarded_allow_ips)
    return 0


def cmd_migrate(_args: argparse.Namespace) -> int:
    _prepare_environment()
    from data import migrate

    before = migrate.current_revision()
    migrate.upgrade()
    after = migrate.current_revision()
    if before != after:
        print(f"database schema: {before or 'empty'} → {after}")
    else:
        print(f"database schema current ({after})")
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    _prepare_environment()
    from app.services import users
    from data import migrate
    from data.engine import session_scope
    from data.errors import DomainError

    migrate.upgrade()
    password = args.password or os.environ.get("STORYCANVAS_NEW_PASSWORD")
    if not password:
        password = getpass.getpass("Password for the new account: ")
    try:
        data = users.validate_registration(args.username, args.email, password)
        with session_scope() as session:
            user = users.register(session, data, admin=args.admin, force=True)
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    print(f"created {'administrator' if user.is_admin else 'user'} {user.username} (id {user.id})")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    _prepare_environment()
    from app.services import backup
    from data.errors import DomainError

    try:
        report = backup.create_backup(Path(args.archive) if args.archive else None)
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    for line in backup.describe(report):
        print(line)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    _prepare_environment()
    from app.services import backup
    from data.errors import DomainError

    if not args.yes:
        answer = input("Restore replaces every project, user and media file here with the archive's. Type 'yes': ")
        if answer.strip().lower() != "yes":
            print("restore cancelled; nothing changed")
            return 1
    try:
        summary = backup.restore_backup(Path(args.archive))
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    print(f"restored {summary}")
    return 0


def cmd_check(_args: argparse.Namespace) -> int:
    _prepare_environment()
    from app.services import system_check

    problems = system_check.run_checks()
    for line in system_check.last_report():
        print(line)
    if problems:
        for problem in problems:
            print(f"problem: {problem}", file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


def cmd_rotate_secret_key(args: argparse.Namespace) -> int:
    _prepare_environment()
    from app.services import secret_rotation
    from data.errors import DomainError

    new_key = args.new_key or os.environ.get("STORYCANVAS_NEW_SECRET_KEY") or None
    if not args.yes:
        try:
            answer = input(
                "Stop the app first (every process of it): a running app keeps the old key and goes on using it.\n"
                "This re-encrypts stored API keys and invitation links with a new key and signs everyone out. "
                "Type 'yes': "
            )
        except EOFError:  # no terminal to ask (a script): --yes says it was meant
            answer = ""
        if answer.strip().lower() != "yes":
            print("rotation cancelled; nothing changed")
            return 1
    try:
        report = secret_rotation.rotate_secret_key(new_key, drop_unreadable=args.drop_unreadable)
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    for line in secret_rotation.describe(report):
        print(line)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storycanvas", description="StoryCanvas studio server")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="start the web app (default)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="behind a TLS proxy: its address(es), comma-separated, whose X-Forwarded-Proto/-For are believed "
        "(default STORYCANVAS_FORWARDED_ALLOW_IPS, else 127.0.0.1)",
    )
    serve.set_defaults(func=cmd_serve)
    create = sub.add_parser("create-user", help="create an account (no registration needed)")
    create.add_argument("username")
    create.add_argument("email")
    create.add_argument("--admin", action="store_true", help="make the account an administrator")
    create.add_argument("--password", help="otherwise asked for, or read from STORYCANVAS_NEW_PASSWORD")
    create.set_defaults(func=cmd_create_user)
    sub.add_parser("migrate", help="bring the database schema up to date").set_defaults(func=cmd_migrate)
    backup = sub.add_parser("backup", help="write database and media to one archive (safe while running)")
    backup.add_argument("archive", nargs="?", help="file to write (default: a dated file in the data dir)")
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser("restore", help="replace database and media with an archive's")
    restore.add_argument("archive")
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    restore.set_defaults(func=cmd_restore)
    sub.add_parser("check", help="database reachable, schema current, data dir writable").set_defaults(func=cmd_check)
    rotate = sub.add_parser(
        "rotate-secret-key",
        help="replace the secret key, re-encrypting stored keys and signing everyone out (stop the app first)",
        description="Run with the app stopped. Decrypts every stored secret with the current key and encrypts it "
        "with the new one in one transaction, ends every browser session and invalidates every token, then writes "
        "the new key to <data dir>/secret_key, or, when the key comes from STORYCANVAS_SECRET_KEY, prints it once "
        "for you to set there.",
    )
    rotate.add_argument(
        "--new-key",
        help="the new key (at least 32 characters; default: a generated one). A command line is visible to "
        "other local users: STORYCANVAS_NEW_SECRET_KEY is read too",
    )
    rotate.add_argument(
        "--drop-unreadable",
        action="store_true",
        help="clear stored secrets the current key cannot decrypt (listed) instead of stopping",
    )
    rotate.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    rotate.set_defaults(func=cmd_rotate_secret_key)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["serve", *(argv or [])])
    return int(args.func(args))
