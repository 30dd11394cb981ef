"""Rotation: keep the newest 7 daily, 4 weekly and 12 monthly backups; remove the rest.

Days, ISO weeks and months are WIB calendar ones. Daily keeps the newest backup of each of
the 7 most recent days that have one (count-based: nights the job failed do not shorten the
history), weekly the newest of each of the 4 most recent ISO weeks, monthly the newest of
each of the 12 most recent months. A backup kept by any rule stays. Times after `now`
(a clock stepped back) are kept and take part in nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.backups.create import backup_dir
from app.backups.models import BackupRecord
from app.core.clock import WIB, utcnow
from app.extensions import db


def _newest_per(times: list[datetime], bucket: Callable[[datetime], Hashable],
                count: int) -> set[datetime]:
    newest: dict[Hashable, datetime] = {}
    for time in times:
        key = bucket(time)
        if key not in newest or time > newest[key]:
            newest[key] = time
    recent = sorted(newest, key=lambda key: newest[key], reverse=True)[:count]
    return {newest[key] for key in recent}


def backups_to_keep(created_times: Iterable[datetime], now: datetime, *, daily: int = 7,
                    weekly: int = 4, monthly: int = 12) -> set[datetime]:
    """The subset of `created_times` (aware datetimes) to keep."""
    times = list(created_times)
    future = {time for time in times if time > now}
    past = [time for time in times if time <= now]
    local = {time: time.astimezone(WIB) for time in past}
    keep = set(future)
    keep |= _newest_per(past, lambda t: local[t].date(), daily)
    keep |= _newest_per(past, lambda t: local[t].isocalendar()[:2], weekly)
    keep |= _newest_per(past, lambda t: (local[t].year, local[t].month), monthly)
    return keep


# Admin settings (/admin/pengaturan, section "Cadangan"); defaults: BACKUP_KEEP_* config.
SETTING_KEEP_DAILY = "backup.keep_daily"
SETTING_KEEP_WEEKLY = "backup.keep_weekly"
SETTING_KEEP_MONTHLY = "backup.keep_monthly"


def retention_defaults() -> dict[str, int]:
    config = current_app.config
    return {SETTING_KEEP_DAILY: int(config["BACKUP_KEEP_DAILY"]),
            SETTING_KEEP_WEEKLY: int(config["BACKUP_KEEP_WEEKLY"]),
            SETTING_KEEP_MONTHLY: int(config["BACKUP_KEEP_MONTHLY"])}


def retention() -> tuple[int, int, int]:
    """(daily, weekly, monthly) archives kept: the admin's settings, else the config."""
    from app.core.settings import setting_get

    daily, weekly, monthly = (int(setting_get(key, default))
                              for key, default in retention_defaults().items())
    return daily, weekly, monthly


def rotate_backups(now: datetime | None = None) -> dict[str, Any]:
    """Delete the archives rotation does not keep and mark their rows removed (flushed)."""
    now = now or utcnow()
    records = db.session.scalars(
        select(BackupRecord).where(BackupRecord.removed_at.is_(None))).all()
    daily, weekly, monthly = retention()
    keep = backups_to_keep([record.created_at for record in records], now,
                           daily=daily, weekly=weekly, monthly=monthly)
    removed = []
    for record in records:
        if record.created_at in keep:
            continue
        (backup_dir() / record.filename).unlink(missing_ok=True)
        record.removed_at = now
        removed.append(record.filename)
    db.session.flush()
    return {"kept": len(records) - len(removed), "removed": removed}
