"""`flask reports ...` commands.

    flask reports weekly [--week 2026-W47]   queue the weekly sales report (default: last
                                             week); stores already sent that week are skipped
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.extensions import db

reports_cli = AppGroup("reports", help="Reports.")


@reports_cli.command("weekly")
@click.option("--week", default=None, metavar="YYYY-Www",
              help="ISO week, e.g. 2026-W47 (default: the last complete week, WIB).")
def weekly_command(week: str | None) -> None:
    """Queue the weekly sales report for every active seller (once per store and week)."""
    from app.reports.weekly import WeekError, parse_week, weekly_reports_send

    if week is not None:
        try:
            parse_week(week)
        except WeekError as error:
            raise click.BadParameter(str(error), param_hint="--week") from None
    try:
        result = weekly_reports_send(week=week)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo(f"week {result['week']}: reports queued {result['sent']}, "
               f"already sent {result['skipped']}")
