"""Maklon CLI commands.

    flask formulas new-key          print a fresh FORMULA_KEYS entry (id:base64 key)
    flask formulas rotate-key       re-encrypt every formula not under the current key
    flask maklon otdr               compute the on-time delivery rate now (the nightly job)
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app.extensions import db


def register_maklon_cli(app: Flask) -> None:
    formulas = AppGroup("formulas", help="Formula encryption keys.")
    maklon = AppGroup("maklon", help="Maklon production.")

    @formulas.command("new-key")
    @click.option("--id", "key_id", default=None,
                  help="Key id (default: k + today's date, e.g. k20261130).")
    def new_key_command(key_id: str | None) -> None:
        """Print a new key entry. Put it FIRST in FORMULA_KEYS (keep the old ones after
        it), restart, then run `flask formulas rotate-key`."""
        from app.core.clock import to_wib, utcnow
        from app.maklon.formula_crypto import new_key

        key_id = key_id or "k" + to_wib(utcnow()).strftime("%Y%m%d")
        if not key_id.replace("-", "").replace("_", "").isalnum() or len(key_id) > 40:
            raise click.ClickException("a key id is letters, digits, - and _ (at most 40)")
        click.echo(f"{key_id}:{new_key()}")

    @formulas.command("rotate-key")
    @click.option("--batch-size", type=click.IntRange(min=1, max=10_000), default=200,
                  show_default=True, help="Formulas re-encrypted per transaction.")
    def rotate_key_command(batch_size: int) -> None:
        """Re-encrypt every formula whose key is not the first of FORMULA_KEYS."""
        from app.maklon.formula_crypto import FormulaKeyError
        from app.maklon.formulas import formulas_rotate

        try:
            result = formulas_rotate(batch_size=batch_size, actor=None,
                                     after_batch=db.session.commit)
            db.session.commit()
        except FormulaKeyError as error:
            db.session.rollback()
            raise click.ClickException(f"FORMULA_KEYS: {error}") from None
        click.echo(f"current key {result.key_id}: re-encrypted {result.rotated}, "
                   f"already current {result.already_current}, failed {len(result.failed)}")
        if result.failed:
            for formula_id, reason in result.failed:
                click.echo(f"  formula {formula_id}: {reason}", err=True)
            raise click.ClickException(
                f"{len(result.failed)} formula(s) could not be re-encrypted: put the key "
                "they name back in FORMULA_KEYS (after the current one) and run again")

    @maklon.command("otdr")
    def otdr_command() -> None:
        """Compute and store the on-time delivery rate now (overall and per company)."""
        from app.maklon.otdr import otdr_compute

        snapshots = otdr_compute()
        overall = snapshots[0]
        line = (f"on time {overall.on_time} of {overall.total} (window {overall.window}); "
                f"{len(snapshots) - 1} companies")
        db.session.commit()
        click.echo(line)

    app.cli.add_command(formulas)
    app.cli.add_command(maklon)
