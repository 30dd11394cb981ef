"""Backups: verified, encrypted archives of the database and the storage files. Their own
package (not reports, not admin): the admin console links to their page, reports' admin
dashboard shows the last one.

Map:
    models.py    BackupRecord (table backup_records), BackupStatus
    archive.py   the .rbk format: a tar stream in AES-256-GCM frames; BACKUP_KEY
    snapshot.py  consistent database snapshots (SQLite backup API, pg_dump -Fc of an
                 exported snapshot), row counts, scratch databases, the PostgreSQL swap
    create.py    create_backup: snapshot + files + manifest.json -> BACKUP_DIR/racik-*.rbk
    verify.py    verify_backup: decrypt, scratch restore, integrity, counts, file hashes
    restore.py   restore_backup: revision check, verify, then replace database and files
    rotation.py  backups_to_keep (pure) and rotate_backups: 7 daily, 4 weekly, 12 monthly
    cli.py       flask backup create|list|verify|restore|rotate|new-key
    routes.py    blueprint `backups` under /admin: /admin/cadangan (admin): list,
                 "create now" and "verify" as tracked jobs
Jobs: jobs/backups.py (queue `backups`); nightly cron 02:00 WIB in jobs/cron.py.
"""
