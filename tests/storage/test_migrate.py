"""`flask storage migrate --to s3|local` copies every stored key across backends, run as an
operator runs it (a `flask` process of its own, configured by environment variables): what
it copies is read back and compared, a second run copies nothing, a differing copy is
replaced, nothing but keys is moved, and a failure is counted and exits 1."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from app.core.storage import storage_put, storage_read
from tests.s3 import bucket_objects, s3_client, s3_settings

ROOT = Path(__file__).resolve().parents[2]


def _flask(tmp_path: Path, settings: dict, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FLASK_APP": "wsgi.py", "RACIK_ENV": "development",
           "INSTANCE_PATH": str(tmp_path / "cli-instance"), "REDIS_URL": "",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           **{name: str(value) for name, value in settings.items()}}
    return subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def _local_files(db) -> dict[str, bytes]:
    files = {storage_put(data, folder=folder, suffix=suffix): data for data, folder, suffix in [
        (b"RIFF\x00\x00\x00\x00WEBPVP8 " * 50, "products", ".webp"),
        (b"%PDF-1.4 invoice\n" * 500, "invoices", ".pdf"),
        (b"\xef\xbb\xbfNomor\r\n", "reports", ".csv")]}
    db.session.commit()
    return files


def test_migrate_to_s3_copies_every_key_verified_and_a_second_run_copies_nothing(
        app, db, s3_endpoint, tmp_path, monkeypatch):
    from tests.s3 import new_bucket

    root = tmp_path / "files"
    monkeypatch.setitem(app.config, "STORAGE_ROOT", str(root))
    files = _local_files(db)
    (root / "notes.txt").write_text("not a key")  # not a stored file: never copied
    (root / next(iter(files))).with_suffix(".webp.part").write_bytes(b"half")
    bucket = new_bucket(s3_endpoint)
    settings = {**s3_settings(s3_endpoint, bucket), "STORAGE_BACKEND": "local",
                "STORAGE_ROOT": str(root)}

    first = _flask(tmp_path, settings, "storage", "migrate", "--to", "s3")
    assert first.returncode == 0, first.stderr
    assert "3 files: 3 copied, 0 already there, 0 failed." in first.stdout
    assert bucket_objects(s3_endpoint, bucket) == files
    client = s3_client(s3_endpoint)
    for key, data in files.items():
        head = client.head_object(Bucket=bucket, Key=key)
        assert head["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()

    second = _flask(tmp_path, settings, "storage", "migrate", "--to", "s3")
    assert second.returncode == 0, second.stderr
    assert "3 files: 0 copied, 3 already there, 0 failed." in second.stdout

    damaged = sorted(files)[0]
    client.put_object(Bucket=bucket, Key=damaged, Body=b"something else")
    third = _flask(tmp_path, settings, "storage", "migrate", "--to", "s3")
    assert "3 files: 1 copied, 2 already there, 0 failed." in third.stdout
    assert bucket_objects(s3_endpoint, bucket) == files

    # The app switched to the bucket reads every file from it, the disk gone.
    for name, value in s3_settings(s3_endpoint, bucket).items():
        monkeypatch.setitem(app.config, name, value)
    monkeypatch.setitem(app.config, "STORAGE_ROOT", str(tmp_path / "empty"))
    assert {key: storage_read(key) for key in files} == files


def test_migrate_to_local_brings_every_object_back(app, db, s3_bucket, tmp_path, monkeypatch):
    files = _local_files(db)  # written to the bucket: the app is on s3
    back = tmp_path / "back"
    monkeypatch.setitem(app.config, "STORAGE_ROOT", str(back))
    result = app.test_cli_runner().invoke(args=["storage", "migrate", "--to", "local"])
    assert result.exit_code == 0, result.output
    assert "3 files: 3 copied, 0 already there, 0 failed." in result.output
    assert {key: (back / key).read_bytes() for key in files} == files
    assert not list(back.rglob("*.part"))


def test_a_copy_that_fails_is_counted_and_the_command_exits_1(app, db, s3_endpoint, tmp_path,
                                                              monkeypatch):
    monkeypatch.setitem(app.config, "STORAGE_ROOT", str(tmp_path / "files"))
    files = _local_files(db)
    for name, value in s3_settings(s3_endpoint, "no-such-bucket").items():
        monkeypatch.setitem(app.config, name, value)
    monkeypatch.setitem(app.config, "STORAGE_BACKEND", "local")
    result = app.test_cli_runner().invoke(args=["storage", "migrate", "--to", "s3"])
    assert result.exit_code == 1
    assert "3 files: 0 copied, 0 already there, 3 failed." in result.output
    assert all(key in result.output for key in files)
