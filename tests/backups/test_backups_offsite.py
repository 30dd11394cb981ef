"""Off-site backups with a real rclone (Debian's) against real remotes on this machine: a
`local` remote in a temp folder, and an SFTP remote served by a local sshd (Debian's
openssh-server, started on a free port with a throw-away host key and an authorized key).
Without rclone or sshd the tests skip with the reason; under CI=true they fail instead
(`missing_service`, as for chromium)."""

from __future__ import annotations

import getpass
import hashlib
import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from app.accounts.models import User
from app.backups.create import backup_dir, create_backup
from app.backups.models import BackupRecord, BackupStatus
from app.backups.offsite import OffsiteStatus, offsite_copy, offsite_rotate
from app.backups.verify import verify_backup
from tests.backups.test_backups import _needs_tools, _some_data, content_checksums
from tests.conftest import missing_service
from tests.factories import make_user


def _rclone_binary() -> str:
    binary = shutil.which("rclone")
    if binary is None:
        missing_service("rclone (apt-get install rclone; `make chromium` installs it)")
    return binary


@pytest.fixture(autouse=True)
def _backup_dirs(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.setitem(app.config, "STORAGE_ROOT", str(tmp_path / "files"))


@pytest.fixture
def local_remote(app, tmp_path, monkeypatch) -> Path:
    """BACKUP_REMOTE on an rclone `local` remote; returns the folder the remote writes."""
    _rclone_binary()
    config = tmp_path / "rclone.conf"
    config.write_text("[offsite]\ntype = local\n")
    folder = tmp_path / "remote" / "racik-backups"
    monkeypatch.setitem(app.config, "RCLONE_CONFIG", str(config))
    monkeypatch.setitem(app.config, "BACKUP_REMOTE", f"offsite:{folder}")
    return folder


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def sshd(tmp_path_factory) -> Iterator[dict]:
    """A private sshd on 127.0.0.1:<free port> accepting one key for the current user."""
    _rclone_binary()
    binary = shutil.which("sshd") or "/usr/sbin/sshd"
    keygen = shutil.which("ssh-keygen")
    if not os.access(binary, os.X_OK) or keygen is None:
        missing_service("sshd (apt-get install openssh-server) for the SFTP remote")
    home = tmp_path_factory.mktemp("sshd")
    home.chmod(0o755)
    for name in ("host_key", "client_key"):
        subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(home / name)],
                       check=True)
    (home / "authorized_keys").write_text((home / "client_key.pub").read_text())
    port = _free_port()
    config = home / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {home / 'host_key'}\n"
        f"AuthorizedKeysFile {home / 'authorized_keys'}\nPidFile {home / 'sshd.pid'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nStrictModes no\n"
        "Subsystem sftp internal-sftp\n")
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(exist_ok=True)  # its privilege-separation directory
    log = (home / "sshd.log").open("wb")
    process = subprocess.Popen([binary, "-D", "-e", "-f", str(config)], stdout=log,
                               stderr=log, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                output = (home / "sshd.log").read_text(errors="replace")
                missing_service(f"sshd did not start: {output[-500:]}")
            time.sleep(0.05)
    host_key = (home / "host_key.pub").read_text().split()
    (home / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    try:
        yield {"port": port, "home": home}
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def sftp_remote(app, sshd, tmp_path, monkeypatch) -> Path:
    config = tmp_path / "rclone.conf"
    config.write_text(
        f"[sftpbox]\ntype = sftp\nhost = 127.0.0.1\nport = {sshd['port']}\n"
        f"user = {getpass.getuser()}\nkey_file = {sshd['home'] / 'client_key'}\n"
        f"known_hosts_file = {sshd['home'] / 'known_hosts'}\n")
    folder = tmp_path / "sftp-remote"
    monkeypatch.setitem(app.config, "RCLONE_CONFIG", str(config))
    monkeypatch.setitem(app.config, "BACKUP_REMOTE", f"sftpbox:{folder}")
    return folder


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _verified_backup(db) -> BackupRecord:
    record = create_backup()
    db.session.commit()
    assert verify_backup(record), record.verify_message
    db.session.commit()
    return record


# --- copies -------------------------------------------------------------------------------


def test_a_verified_archive_is_copied_to_a_local_remote(db, local_remote):
    _needs_tools(db)
    _some_data(db)
    record = _verified_backup(db)
    assert offsite_copy(record)
    db.session.commit()
    copy = local_remote / record.filename
    assert _sha256(copy) == record.sha256
    assert record.offsite_status == OffsiteStatus.COPIED
    assert record.offsite_size == record.size and record.offsite_error == ""
    assert record.offsite_remote == f"offsite:{local_remote}" and record.offsite_at


def test_the_nightly_job_copies_over_sftp_to_a_local_ssh_server(app, db, sftp_remote,
                                                                client, login_as):
    _needs_tools(db)
    from app.core.queue import execute_job

    _some_data(db)
    result = execute_job(app, "jobs.backups.nightly", [], {})
    assert result["status"] == BackupStatus.VERIFIED and result["offsite"] is True
    db.session.expire_all()
    record = db.session.get(BackupRecord, result["backup_id"])
    assert _sha256(sftp_remote / record.filename) == record.sha256
    assert (backup_dir() / record.filename).is_file()  # the local archive stays
    login_as(make_user(roles=("admin",)))
    page = client.get("/admin/cadangan").get_data(as_text=True)
    assert "Salinan di luar server terakhir:" in page and "sftpbox:" in page
    dashboard = client.get("/admin/dasbor").get_data(as_text=True)
    assert "Salinan di luar server terakhir:" in dashboard


def test_an_unverified_archive_is_not_copied(db, local_remote):
    _needs_tools(db)
    record = create_backup()
    db.session.commit()
    assert not offsite_copy(record)
    assert record.offsite_status == OffsiteStatus.FAILED
    assert "verifikasi" in record.offsite_error
    assert not local_remote.exists()


def test_an_unreachable_remote_is_logged_shown_and_keeps_the_local_archive(
        app, db, sshd, tmp_path, monkeypatch, caplog, client, login_as):
    _needs_tools(db)
    config = tmp_path / "rclone.conf"
    config.write_text(  # a port nobody listens on
        f"[down]\ntype = sftp\nhost = 127.0.0.1\nport = {_free_port()}\n"
        f"user = {getpass.getuser()}\nkey_file = {sshd['home'] / 'client_key'}\n")
    monkeypatch.setitem(app.config, "RCLONE_CONFIG", str(config))
    monkeypatch.setitem(app.config, "BACKUP_REMOTE", "down:racik")
    monkeypatch.setitem(app.config, "RCLONE_TIMEOUT", 60)
    # rclone reads its flags from the environment too: one try instead of its default
    # 3 x 10 (11 s of refused connections); the failure it ends with is the same.
    monkeypatch.setenv("RCLONE_RETRIES", "1")
    monkeypatch.setenv("RCLONE_LOW_LEVEL_RETRIES", "1")
    record = _verified_backup(db)
    with caplog.at_level(logging.ERROR, logger="app.backups.offsite"):
        assert not offsite_copy(record)
    db.session.commit()
    assert record.offsite_status == OffsiteStatus.FAILED
    assert "rclone copyto gagal" in record.offsite_error
    assert any("off-site copy" in r.getMessage() for r in caplog.records)
    assert (backup_dir() / record.filename).is_file()
    login_as(make_user(roles=("admin",)))
    for path in ("/admin/cadangan", "/admin/dasbor"):
        page = client.get(path).get_data(as_text=True)
        assert "Salinan di luar server gagal:" in page, path
        assert "rclone copyto gagal" in page, path


def test_an_unknown_remote_name_fails_with_rclones_message(app, db, local_remote,
                                                           monkeypatch):
    _needs_tools(db)
    monkeypatch.setitem(app.config, "BACKUP_REMOTE", "nosuchremote:racik")
    record = _verified_backup(db)
    assert not offsite_copy(record)
    assert "nosuchremote" in record.offsite_error


# --- rotation -----------------------------------------------------------------------------


@pytest.mark.parametrize("remote", ["local_remote", "sftp_remote"])
def test_the_remote_keeps_the_same_7_4_12_rotation_and_local_files_stay(request, db, remote):
    """The copies the rotation drops go in one rclone run, on a local remote and over SFTP;
    a file of the folder that no record names stays."""
    local_remote = request.getfixturevalue(remote)
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    local_remote.mkdir(parents=True)
    names = []
    for days in range(0, 400, 3):  # one every three days for 400 days
        name = f"racik-{days:04d}.rbk"
        names.append(name)
        (local_remote / name).write_bytes(b"x" * 10)
        (backup_dir() / name).write_bytes(b"x" * 10)
        db.session.add(BackupRecord(filename=name, size=10, created_at=now - timedelta(
            days=days, hours=1), offsite_status=OffsiteStatus.COPIED, offsite_size=10))
    stranger = local_remote / "racik-not-ours.rbk"
    stranger.write_bytes(b"?")
    db.session.commit()
    result = offsite_rotate(now)
    db.session.commit()
    from app.backups.rotation import backups_to_keep

    times = {name: now - timedelta(days=int(name[6:10]), hours=1) for name in names}
    keep = backups_to_keep(times.values(), now)
    expected = {name for name, time in times.items() if time in keep}
    assert {p.name for p in local_remote.iterdir()} == expected | {stranger.name}
    assert set(result["removed"]) == set(names) - expected
    assert 7 <= len(expected) <= 7 + 4 + 12
    # The local archives are the local rotation's business: all still there.
    assert all((backup_dir() / name).is_file() for name in names)
    removed = db.session.scalars(select(BackupRecord).where(
        BackupRecord.offsite_removed_at.is_not(None))).all()
    assert {r.filename for r in removed} == set(names) - expected


# --- restore from the remote --------------------------------------------------------------


def test_restore_from_remote_on_a_server_that_lost_archive_and_records(app, db,
                                                                       local_remote):
    """The disaster case: BACKUP_DIR and the backup rows are gone; the archive comes back
    from the remote, is verified, and restores the data."""
    _needs_tools(db)
    _some_data(db)
    before = content_checksums(db)
    record = _verified_backup(db)
    assert offsite_copy(record)
    db.session.commit()
    filename = record.filename
    (backup_dir() / filename).unlink()
    db.session.execute(delete(BackupRecord))
    make_user(name="Datang Kemudian")
    db.session.commit()
    assert content_checksums(db) != before
    db.session.close()

    result = app.test_cli_runner().invoke(
        args=["backup", "restore", "--from-remote", filename, "--yes"])
    assert result.exit_code == 0, result.output
    assert f"fetched {filename}" in result.output and "Restored" in result.output
    assert content_checksums(db) == before
    assert (backup_dir() / filename).is_file()
    assert db.session.scalars(select(BackupRecord.filename)).all() == [filename]


def test_restore_from_remote_refuses_a_tampered_copy_and_changes_nothing(app, db,
                                                                         local_remote):
    _needs_tools(db)
    _some_data(db)
    record = _verified_backup(db)
    assert offsite_copy(record)
    db.session.commit()
    filename = record.filename
    (backup_dir() / filename).unlink()
    copy = local_remote / filename
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    make_user(name="Tetap Ada")
    db.session.commit()
    db.session.close()
    result = app.test_cli_runner().invoke(
        args=["backup", "restore", "--from-remote", filename, "--yes"])
    assert result.exit_code == 1
    assert "nothing restored" in result.output and "SHA-256" in result.output
    assert not (backup_dir() / filename).exists()
    assert db.session.scalar(select(User).where(User.name == "Tetap Ada")) is not None


@pytest.mark.parametrize("filename", ["../etc/passwd.rbk", "racik-missing.rbk", "x.txt"])
def test_restore_from_remote_explains_a_bad_or_missing_name(app, db, local_remote, filename):
    local_remote.mkdir(parents=True)
    result = app.test_cli_runner().invoke(
        args=["backup", "restore", "--from-remote", filename, "--yes"])
    assert result.exit_code == 1
    assert "nothing restored" in result.output


def test_cli_offsite_and_remote_list(app, db, local_remote):
    _needs_tools(db)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["backup", "create"]).exit_code == 0
    verified = runner.invoke(args=["backup", "verify", "--latest"])
    assert verified.exit_code == 0, verified.output
    assert "copied off-site" in verified.output  # verify copies a verified archive
    listed = runner.invoke(args=["backup", "remote"])
    assert listed.exit_code == 0 and "racik-" in listed.output
    again = runner.invoke(args=["backup", "offsite", "--latest"])
    assert again.exit_code == 0 and "copied off-site" in again.output


def test_cli_offsite_without_a_remote_says_so(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "BACKUP_REMOTE", "")
    result = app.test_cli_runner().invoke(args=["backup", "offsite", "--latest"])
    assert result.exit_code == 1 and "BACKUP_REMOTE" in result.output
