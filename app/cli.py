"""Flask CLI commands.

    flask users create-admin EMAIL [--name NAME]   (password asked twice, or RACIK_ADMIN_PASSWORD)
    flask users totp-code EMAIL                      current 2FA code of a demo admin/staff
    flask demo load                                  idempotent demo data (not in production)
    flask catalog renditions                         card/mini renditions of old photos (idempotent)
    flask mail sweep                                 send every due outbox email now
    flask crm digest                                 send today's task digests now (idempotent)
    flask crm due | telegram-sweep                   "due tomorrow" notices; due Telegram messages
    flask audit archive [--days N]                   archive audit rows older than N days
    flask formulas new-key | rotate-key, flask maklon otdr   (app/maklon/cli.py)
    flask backup create|list|verify [ID|--latest]|restore ID [--yes]|rotate|new-key
                                                     (app/backups/cli.py)
    flask reports weekly [--week 2026-W47]           weekly seller reports (app/reports/cli.py)
    flask storage migrate --to s3|local              copy stored files across backends
                                                     (app/core/storage_migrate.py)
    flask keys init > .env                           fresh production secrets (app/keys_cli.py)
"""

from __future__ import annotations

import os

import click
from flask import Flask
from flask.cli import AppGroup

from app.extensions import db

# The command groups of `flask`; register_cli adds them (and the domains' groups).
users = AppGroup("users", help="Manage user accounts.")
demo = AppGroup("demo", help="Demo data for development.")
mail = AppGroup("mail", help="Email outbox.")
crm = AppGroup("crm", help="CRM.")
audit = AppGroup("audit", help="Audit log.")
catalog = AppGroup("catalog", help="Product catalog.")


@catalog.command("renditions")
def catalog_renditions() -> None:
    """Make the 240 px card and 128 px mini renditions of every product photo lacking one."""
    from app.catalog.services import photo_renditions_backfill

    result = photo_renditions_backfill()
    click.echo(f"{result.made} renditions made, {result.failed} photos unreadable, "
               f"{result.covers} product covers updated")


@users.command("create-admin")
@click.argument("email")
@click.option("--name", default=None, help="Display name (default: part before @).")
def create_admin(email: str, name: str | None) -> None:
    """Create an admin account, or grant admin to an existing one."""
    from app.accounts.services import AccountError, admin_create, user_by_email

    password = ""
    if user_by_email(email) is None:
        password = os.environ.get("RACIK_ADMIN_PASSWORD") or click.prompt(
            "Password", hide_input=True, confirmation_prompt=True
        )
    try:
        user, created = admin_create(email=email, password=password, name=name)
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    verb = "Created admin" if created else "Granted admin to"
    click.echo(f"{verb} {user.email}")


@users.command("totp-code")
@click.argument("email")
def totp_code(email: str) -> None:
    """Print the current two-factor code of a demo account (never in production)."""
    from app.demo import DemoRefused, demo_totp_code

    try:
        code = demo_totp_code(email)
    except DemoRefused as error:
        raise click.ClickException(str(error)) from None
    click.echo(code)


@demo.command("load")
def demo_load_command() -> None:
    """Create the demo accounts and data (idempotent)."""
    from app.demo import (
        DEMO_PASSWORD,
        DEMO_TOTP_ACCOUNTS,
        DEMO_TOTP_SECRET,
        DemoRefused,
        demo_load,
    )

    try:
        accounts = demo_load()
    except DemoRefused as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    from app.catalog.services import photo_renditions_backfill

    photo_renditions_backfill()  # a demo database loaded before card renditions existed
    click.echo(f"Demo accounts (password: {DEMO_PASSWORD}):")
    for account in accounts:
        two_factor = "  (2FA)" if account.email in DEMO_TOTP_ACCOUNTS else ""
        click.echo(f"  {account.email:<22} {', '.join(account.roles)}{two_factor}")
    click.echo(f"2FA accounts: code from `flask users totp-code EMAIL`, or add the secret "
               f"{DEMO_TOTP_SECRET} to an authenticator app.")


@mail.command("sweep")
def mail_sweep() -> None:
    """Send every pending outbox email that is due."""
    from app.core.mail import outbox_sweep

    counts = outbox_sweep()
    click.echo(f"sent {counts['sent']}, failed {counts['failed']}")


@crm.command("digest")
def crm_digest() -> None:
    """Queue today's task digest emails (once per person per WIB date)."""
    from app.crm.services import task_digest_send

    counts = task_digest_send()
    db.session.commit()
    click.echo(f"digests queued {counts['sent']}, already sent today {counts['skipped']}")


@crm.command("due")
def crm_due() -> None:
    """Queue the "due tomorrow" task notices (once per task and due date)."""
    from app.crm.events import task_due_notices_send

    counts = task_due_notices_send()
    db.session.commit()
    click.echo(f"tasks due tomorrow {counts['tasks']}, emails {counts['emails']}, "
               f"telegram {counts['telegram']}")


@crm.command("telegram-sweep")
def crm_telegram_sweep() -> None:
    """Send every due Telegram message now."""
    from app.notifications.telegram import telegram_sweep

    counts = telegram_sweep()
    click.echo(f"due {counts['due']}, sent {counts['sent']}, errors {counts['errors']}")


@audit.command("archive")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Archive rows older than this many days (default: "
                   "AUDIT_RETENTION_DAYS).")
def audit_archive_command(days: int | None) -> None:
    """Move old audit rows to a compressed archive file (kept in storage)."""
    from app.audit.archive import audit_archive

    try:
        result = audit_archive(older_than_days=days)
        db.session.commit()
    except Exception:
        db.session.rollback()  # the rows stay; the file written is removed
        raise
    if not result["rows"]:
        click.echo("nothing to archive")
        return
    click.echo(f"archived {result['rows']} rows (ids {result['first_id']}.."
               f"{result['last_id']}) in {result['archives']} file(s): "
               + ", ".join(result["files"]))


def register_cli(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(demo)
    app.cli.add_command(mail)
    app.cli.add_command(crm)
    app.cli.add_command(audit)
    app.cli.add_command(catalog)

    from app.maklon.cli import register_maklon_cli

    register_maklon_cli(app)

    from app.maklon.contracts import contracts_cli

    app.cli.add_command(contracts_cli)

    from app.backups.cli import backup_cli

    app.cli.add_command(backup_cli)
    from app.core.storage_migrate import storage_cli
    from app.reports.cli import reports_cli

    app.cli.add_command(reports_cli)
    app.cli.add_command(storage_cli)
    from app.keys_cli import keys_cli

    app.cli.add_command(keys_cli)
