"""TOTP services: the secret at rest, the ±1 step window, codes that work once (also from two
threads at once, on SQLite and PostgreSQL), recovery codes, enabling and switching off."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta

import pyotp
from sqlalchemy import func, select

from app.accounts.models import RecoveryCode, User
from app.accounts.totp import (
    RECOVERY_ALPHABET,
    recovery_code_use,
    recovery_codes_left,
    recovery_codes_regenerate,
    secret_decrypt,
    secret_encrypt,
    totp_disable,
    totp_enable,
    totp_verify,
)
from app.audit.models import AuditEntry
from tests.factories import make_user

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = datetime(2026, 3, 2, 8, 0, 15, tzinfo=UTC)  # 15 s into a 30 s step
STEP = 30


def code_at(moment: datetime, secret: str = SECRET) -> str:
    return pyotp.TOTP(secret).at(moment)


def enrolled_user(db, secret: str = SECRET) -> tuple[User, list[str]]:
    """A user who switched 2FA on at NOW - 1 h with `secret` (codes: the recovery codes)."""
    user = make_user()
    earlier = NOW - timedelta(hours=1)
    codes = totp_enable(user=user, secret=secret, code=code_at(earlier, secret), now=earlier)
    assert codes is not None
    db.session.commit()
    return user, codes


def test_secret_is_stored_encrypted_and_decrypts_back(db):
    user, _ = enrolled_user(db)
    stored = db.session.scalar(select(User.totp_secret).where(User.id == user.id))
    assert SECRET not in stored and stored.startswith("v1:")
    assert secret_decrypt(stored) == SECRET
    # A fresh nonce each time: the same secret never encrypts to the same text.
    assert secret_encrypt(SECRET) != secret_encrypt(SECRET)


def test_secret_encrypted_under_another_key_does_not_decrypt(app, db):
    from app.accounts.totp import SecretUnreadable

    stored = secret_encrypt(SECRET)
    original = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "another-secret-key"
    try:
        try:
            secret_decrypt(stored)
        except SecretUnreadable:
            pass
        else:
            raise AssertionError("decrypted with the wrong key")
    finally:
        app.config["SECRET_KEY"] = original


def test_current_previous_and_next_steps_are_accepted(db):
    for offset in (0, -1, 1):
        user, _ = enrolled_user(db)
        assert totp_verify(user, code_at(NOW + timedelta(seconds=offset * STEP)), now=NOW), offset


def test_codes_two_steps_away_are_refused(db):
    user, _ = enrolled_user(db)
    for offset in (-2, 2):
        assert not totp_verify(user, code_at(NOW + timedelta(seconds=offset * STEP)), now=NOW)
    assert db.session.get(User, user.id).totp_last_step == (
        int((NOW - timedelta(hours=1)).timestamp()) // STEP)  # nothing claimed


def test_malformed_codes_are_refused(db):
    user, _ = enrolled_user(db)
    for code in ("", "12345", "1234567", "abcdef", "12 34 5"):
        assert not totp_verify(user, code, now=NOW)
    assert totp_verify(user, " " + code_at(NOW)[:3] + " " + code_at(NOW)[3:], now=NOW)


def test_a_code_works_once(db):
    user, _ = enrolled_user(db)
    code = code_at(NOW)
    assert totp_verify(user, code, now=NOW)
    db.session.commit()
    assert not totp_verify(user, code, now=NOW)  # replay
    assert not totp_verify(user, code, now=NOW + timedelta(seconds=STEP))  # still in window
    assert db.session.get(User, user.id).totp_last_step == int(NOW.timestamp()) // STEP


def test_an_older_step_is_refused_after_a_newer_one_was_used(db):
    user, _ = enrolled_user(db)
    assert totp_verify(user, code_at(NOW + timedelta(seconds=STEP)), now=NOW)  # step +1
    assert not totp_verify(user, code_at(NOW), now=NOW)  # the current step is older


def test_user_without_2fa_never_verifies(db):
    user = make_user()
    db.session.commit()
    assert not totp_verify(user, code_at(NOW), now=NOW)


def test_same_code_from_two_threads_succeeds_once(app, db):
    user, _ = enrolled_user(db)
    user_id, code = user.id, code_at(NOW)
    db.session.rollback()  # the test's own transaction would hold SQLite's write lock
    barrier = threading.Barrier(2)
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        with app.app_context():
            from app.extensions import db as thread_db

            barrier.wait()
            try:
                ok = totp_verify(thread_db.session.get(User, user_id), code, now=NOW)
                thread_db.session.commit()
            finally:
                thread_db.session.remove()
            with lock:
                results.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [False, True]


def test_enable_refuses_a_wrong_code_and_writes_nothing(db):
    user = make_user()
    db.session.commit()
    wrong = code_at(NOW + timedelta(seconds=2 * STEP))
    assert totp_enable(user=user, secret=SECRET, code=wrong, now=NOW) is None
    db.session.commit()
    fresh = db.session.get(User, user.id)
    assert fresh.totp_enabled_at is None and fresh.totp_secret == ""
    assert db.session.scalar(select(func.count(RecoveryCode.id))) == 0


def test_enable_gives_ten_single_use_recovery_codes_stored_as_sha256(db):
    user, codes = enrolled_user(db)
    assert len(codes) == 10 and len(set(codes)) == 10
    for code in codes:
        assert len(code) == 9 and code[4] == "-"
        assert set(code.replace("-", "")) <= set(RECOVERY_ALPHABET)
    stored = set(db.session.scalars(select(RecoveryCode.code_hash).where(
        RecoveryCode.user_id == user.id)))
    assert stored == {hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in codes}
    # Enabling twice (another tab) does nothing the second time.
    assert totp_enable(user=user, secret=SECRET, code=code_at(NOW), now=NOW) is None


def test_the_enrolment_code_cannot_log_in_again(db):
    user = make_user()
    db.session.commit()
    code = code_at(NOW)
    assert totp_enable(user=user, secret=SECRET, code=code, now=NOW) is not None
    db.session.commit()
    assert not totp_verify(user, code, now=NOW)


def test_recovery_code_works_once(db):
    user, codes = enrolled_user(db)
    assert recovery_code_use(user, codes[0].upper())  # typed in capitals
    db.session.commit()
    assert not recovery_code_use(user, codes[0])
    assert recovery_code_use(user, codes[1].replace("-", ""))  # typed without the dash
    assert not recovery_code_use(user, "aaaa-aaaa")
    assert recovery_codes_left(user) == 8


def test_recovery_codes_of_another_user_do_not_work(db):
    _, codes = enrolled_user(db)
    other, _ = enrolled_user(db)
    assert not recovery_code_use(other, codes[0])


def test_new_recovery_codes_replace_all_the_old_ones(db):
    user, old = enrolled_user(db)
    new = recovery_codes_regenerate(user=user)
    db.session.commit()
    assert new is not None and len(new) == 10 and not set(new) & set(old)
    assert not recovery_code_use(user, old[2])
    assert recovery_code_use(user, new[2])
    assert db.session.scalar(select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user.id)) == 10


def test_disable_deletes_the_secret_and_the_codes(db):
    user, _ = enrolled_user(db)
    assert totp_disable(user=user)
    db.session.commit()
    fresh = db.session.get(User, user.id)
    assert fresh.totp_enabled_at is None and fresh.totp_secret == ""
    assert db.session.scalar(select(func.count(RecoveryCode.id))) == 0
    assert not totp_disable(user=fresh)  # twice: nothing more
    assert recovery_codes_regenerate(user=fresh) is None
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["auth.totp_enable", "auth.totp_disable"]
