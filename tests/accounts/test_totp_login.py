"""Two-factor login through HTTP: the second step, enrolment, roles that must use 2FA, and
re-authentication before sensitive changes."""

from __future__ import annotations

import re
import threading
import time

import pyotp
import pytest
from sqlalchemy import func, select

from app.accounts.models import RecoveryCode, User, UserSession
from app.accounts.reauth import SESSION_KEY as REAUTH_KEY
from app.accounts.routes import PENDING_LOGIN_KEY
from app.accounts.totp import secret_decrypt, secret_encrypt
from app.audit.models import AuditEntry
from app.core.clock import utcnow
from tests.conftest import log_in
from tests.factories import DEFAULT_PASSWORD, make_user

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
TOTP = pyotp.TOTP(SECRET)
SECRET_TEXT = re.compile(r'data-testid="totp-secret">([A-Z2-7 ]+)<')
RECOVERY = re.compile(r'data-testid="recovery-code">([a-z0-9-]+)<')


def totp_user(db, *, roles: tuple[str, ...] = ("customer",), email: str | None = None) -> User:
    """A user with 2FA on (secret SECRET) and one known recovery code, "abcd-efgh"."""
    import hashlib

    user = make_user(roles=roles, email=email)
    user.totp_secret = secret_encrypt(SECRET)
    user.totp_enabled_at = utcnow()
    db.session.add(RecoveryCode(user_id=user.id,
                                code_hash=hashlib.sha256(b"abcdefgh").hexdigest()))
    db.session.commit()
    return user


def next_code(offset_steps: int = 0) -> str:
    return TOTP.at(time.time() + 30 * offset_steps)


def password_step(client, email: str, next_path: str | None = None, remember: bool = False):
    data = {"email": email, "password": DEFAULT_PASSWORD}
    if remember:
        data["remember"] = "y"
    url = "/masuk" + (f"?next={next_path}" if next_path else "")
    return client.post(url, data=data)


def audit_actions(db) -> list[str]:
    return db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()


# --- the second login step -----------------------------------------------------------------


def test_password_alone_opens_no_session_for_a_2fa_user(client, db):
    user = totp_user(db)
    response = password_step(client, user.email)
    assert response.status_code == 303
    assert response.headers["Location"] == "/masuk/verifikasi"
    assert db.session.scalar(select(func.count(UserSession.id))) == 0
    db.session.expire_all()
    assert db.session.get(User, user.id).last_login_at is None  # not logged in yet
    protected = client.get("/akun")
    assert protected.status_code == 302 and "/masuk" in protected.headers["Location"]
    assert client.get("/masuk/verifikasi").status_code == 200


def test_the_code_completes_the_login_with_next_and_remember(client, db):
    user = totp_user(db)
    password_step(client, user.email, next_path="/akun/sesi", remember=True)
    response = client.post("/masuk/verifikasi", data={"code": next_code()})
    assert response.status_code == 303 and response.headers["Location"] == "/akun/sesi"
    row = db.session.scalars(select(UserSession)).one()
    assert row.user_id == user.id and row.remember
    assert db.session.get(User, user.id).last_login_at == row.created_at
    assert client.get_cookie("racik_remember") is not None
    assert client.get("/akun").status_code == 200
    with client.session_transaction() as cookie_session:
        assert PENDING_LOGIN_KEY not in cookie_session  # the cookie session was rotated


def test_a_wrong_code_is_422_with_a_message_and_opens_no_session(client, db):
    user = totp_user(db)
    password_step(client, user.email)
    wrong = f"{(int(next_code()) + 500_000) % 1_000_000:06d}"
    response = client.post("/masuk/verifikasi", data={"code": wrong})
    assert response.status_code == 422
    assert "Kode salah, kedaluwarsa, atau sudah dipakai." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(UserSession.id))) == 0


def test_a_used_code_cannot_log_in_a_second_browser(client, make_client, db):
    user = totp_user(db)
    code = next_code()
    password_step(client, user.email)
    assert client.post("/masuk/verifikasi", data={"code": code}).status_code == 303
    other = make_client()
    password_step(other, user.email)
    assert other.post("/masuk/verifikasi", data={"code": code}).status_code == 422
    assert db.session.scalar(select(func.count(UserSession.id))) == 1


def test_two_browsers_sending_the_same_code_at_once_log_in_once(make_client, db):
    user = totp_user(db)
    clients = [make_client(), make_client()]
    for each in clients:
        password_step(each, user.email)
    tokens = [each.csrf_token() for each in clients]
    code = next_code()
    barrier = threading.Barrier(2)
    statuses: list[int] = [0, 0]

    def worker(index: int) -> None:
        barrier.wait()
        statuses[index] = clients[index].open(
            "/masuk/verifikasi", method="POST", csrf=False,
            data={"code": code, "csrf_token": tokens[index]}).status_code

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [303, 422]
    assert db.session.scalar(select(func.count(UserSession.id))) == 1


def test_a_recovery_code_logs_in_once(client, make_client, db):
    user = totp_user(db)
    password_step(client, user.email)
    assert client.post("/masuk/verifikasi", data={"code": "ABCD-EFGH"}).status_code == 303
    other = make_client()
    password_step(other, user.email)
    assert other.post("/masuk/verifikasi", data={"code": "abcd-efgh"}).status_code == 422
    assert audit_actions(db) == ["auth.recovery_code_used", "auth.login", "auth.totp_failed"]


def test_the_pending_login_expires_after_five_minutes(client, db):
    user = totp_user(db)
    password_step(client, user.email)
    with client.session_transaction() as cookie_session:
        pending = cookie_session[PENDING_LOGIN_KEY]
        cookie_session[PENDING_LOGIN_KEY] = {**pending, "at": pending["at"] - 5 * 60 - 1}
    response = client.post("/masuk/verifikasi", data={"code": next_code()})
    assert response.status_code == 302 and response.headers["Location"] == "/masuk"
    assert db.session.scalar(select(func.count(UserSession.id))) == 0
    assert client.get("/masuk/verifikasi").headers["Location"] == "/masuk"


def test_a_pending_login_just_under_five_minutes_still_works(client, db):
    user = totp_user(db)
    password_step(client, user.email)
    with client.session_transaction() as cookie_session:
        pending = cookie_session[PENDING_LOGIN_KEY]
        cookie_session[PENDING_LOGIN_KEY] = {**pending, "at": pending["at"] - 5 * 60 + 20}
    assert client.post("/masuk/verifikasi", data={"code": next_code()}).status_code == 303


def test_failed_codes_are_rate_limited_per_account(client, make_client, db):
    user = totp_user(db)
    password_step(client, user.email)
    wrong = f"{(int(next_code()) + 500_000) % 1_000_000:06d}"
    statuses = [client.post("/masuk/verifikasi", data={"code": wrong}).status_code
                for _ in range(6)]
    assert statuses == [422] * 5 + [429]
    # Another browser with the password gets no fresh tries for the same account.
    other = make_client()
    password_step(other, user.email)
    assert other.post("/masuk/verifikasi", data={"code": next_code()}).status_code == 429
    assert audit_actions(db) == ["auth.totp_failed"] * 5


def test_users_without_2fa_log_in_with_the_password_as_before(client, db):
    user = make_user()
    db.session.commit()
    response = log_in(client, user.email)
    assert response.headers["Location"] == "/"


# --- enrolment ------------------------------------------------------------------------------


def test_enrolment_shows_qr_and_secret_then_recovery_codes_once(client, db):
    user = make_user()
    db.session.commit()
    log_in(client, user.email)
    page = client.get("/akun/2fa").get_data(as_text=True)
    assert 'data-testid="totp-qr"' in page and "<svg" in page
    secret = SECRET_TEXT.search(page).group(1).replace(" ", "")
    assert client.get("/akun/2fa").get_data(as_text=True).count(
        SECRET_TEXT.search(page).group(1)) == 1  # the same secret until confirmed
    wrong = client.post("/akun/2fa", data={"code": "000000" if pyotp.TOTP(secret).now()
                                           != "000000" else "111111"})
    assert wrong.status_code == 422 and "Kode tidak cocok." in wrong.get_data(as_text=True)
    response = client.post("/akun/2fa", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    codes = RECOVERY.findall(response.get_data(as_text=True))
    assert len(codes) == 10 and "Saya sudah menyimpannya" in response.get_data(as_text=True)
    fresh = db.session.get(User, user.id)
    assert fresh.totp_enabled_at is not None
    assert secret not in fresh.totp_secret and secret_decrypt(fresh.totp_secret) == secret
    status = client.get("/akun/2fa").get_data(as_text=True)
    assert "Aktif" in status and secret[:4] not in status and codes[0] not in status
    assert 'data-testid="codes-left">10 kode' in status


def test_new_recovery_codes_and_switching_off(client, db):
    user = totp_user(db)
    password_step(client, user.email)
    client.post("/masuk/verifikasi", data={"code": next_code()})
    response = client.post("/akun/2fa/kode-pemulihan")
    assert response.status_code == 200
    assert len(RECOVERY.findall(response.get_data(as_text=True))) == 10
    assert response.get_data(as_text=True).count("abcd-efgh") == 0
    response = client.post("/akun/2fa/matikan")
    assert response.status_code == 303
    assert db.session.get(User, user.id).totp_enabled_at is None
    assert db.session.scalar(select(func.count(RecoveryCode.id))) == 0


# --- roles that must use 2FA --------------------------------------------------------------------


@pytest.fixture
def staff_must_enrol(app, monkeypatch):
    monkeypatch.setitem(app.config, "TOTP_REQUIRED_ROLES", ("admin", "staff"))


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def held_post(client, path: str, data: dict | None = None):
    """A POST by a user held at the enrolment page (the only page with a CSRF token)."""
    token = CSRF.search(client.get("/akun/2fa").get_data(as_text=True)).group(1)
    return client.post(path, data={**(data or {}), "csrf_token": token})


def test_required_role_without_2fa_is_held_at_the_enrolment_page(client, db,
                                                                 staff_must_enrol):
    user = make_user(roles=("staff",))
    db.session.commit()
    log_in(client, user.email)
    for path in ("/", "/crm/", "/akun", "/akun/sesi"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/akun/2fa", path
    assert held_post(client, "/akun", {"name": "X"}).headers["Location"] == "/akun/2fa"
    page = client.get("/akun/2fa")
    assert page.status_code == 200 and 'data-testid="totp-required"' in page.get_data(
        as_text=True)
    assert client.get("/static/css/app.css").status_code == 200
    assert held_post(client, "/bahasa", {"lang": "id"}).status_code == 303
    # Once enrolled, the rest of the site opens.
    secret = SECRET_TEXT.search(page.get_data(as_text=True)).group(1).replace(" ", "")
    assert held_post(client, "/akun/2fa", {"code": pyotp.TOTP(secret).now()}).status_code == 200
    assert client.get("/akun").status_code == 200
    # ... and it cannot be switched off.
    refused = client.post("/akun/2fa/matikan")
    assert refused.status_code == 403
    assert db.session.get(User, user.id).totp_enabled_at is not None


def test_required_role_may_log_out_while_held(client, db, staff_must_enrol):
    user = make_user(roles=("admin",))
    db.session.commit()
    log_in(client, user.email)
    assert held_post(client, "/keluar").status_code == 303
    assert client.get("/akun").headers["Location"].startswith("/masuk")


def test_other_roles_are_not_held(client, db, staff_must_enrol):
    user = make_user(roles=("customer",))
    db.session.commit()
    log_in(client, user.email)
    assert client.get("/akun").status_code == 200


# --- re-authentication --------------------------------------------------------------------------


def _age_reauth(client, seconds: int) -> None:
    with client.session_transaction() as cookie_session:
        mark = cookie_session[REAUTH_KEY]
        cookie_session[REAUTH_KEY] = {**mark, "at": mark["at"] - seconds}


def test_password_change_needs_a_recent_confirmation(client, db):
    user = make_user()
    db.session.commit()
    log_in(client, user.email)
    assert client.get("/akun/kata-sandi").status_code == 200  # the login just confirmed
    _age_reauth(client, 5 * 60 + 1)
    response = client.get("/akun/kata-sandi")
    assert response.status_code == 303
    assert response.headers["Location"] == "/akun/konfirmasi?next=/akun/kata-sandi"
    posted = client.post("/akun/kata-sandi", data={
        "current_password": DEFAULT_PASSWORD, "new_password": "teh-manis-dingin-77",
        "new_password_confirm": "teh-manis-dingin-77"}, headers={
        "Referer": "http://localhost/akun/kata-sandi"})
    assert posted.headers["Location"] == "/akun/konfirmasi?next=/akun/kata-sandi"
    assert "auth.password_change" not in audit_actions(db)
    wrong = client.post("/akun/konfirmasi", data={"password": "bukan-ini-123",
                                                  "next": "/akun/kata-sandi"})
    assert wrong.status_code == 422 and "Kata sandi salah." in wrong.get_data(as_text=True)
    right = client.post("/akun/konfirmasi", data={"password": DEFAULT_PASSWORD,
                                                  "next": "/akun/kata-sandi"})
    assert right.status_code == 303 and right.headers["Location"] == "/akun/kata-sandi"
    assert client.get("/akun/kata-sandi").status_code == 200


def test_confirmation_of_a_2fa_user_needs_a_fresh_code(client, db):
    user = totp_user(db)
    password_step(client, user.email)
    used = next_code()
    client.post("/masuk/verifikasi", data={"code": used})
    _age_reauth(client, 301)
    assert client.get("/akun/2fa").headers["Location"] == "/akun/konfirmasi?next=/akun/2fa"
    no_code = client.post("/akun/konfirmasi", data={"password": DEFAULT_PASSWORD,
                                                    "next": "/akun/2fa"})
    assert no_code.status_code == 422
    replay = client.post("/akun/konfirmasi", data={"password": DEFAULT_PASSWORD,
                                                   "code": used, "next": "/akun/2fa"})
    assert replay.status_code == 422
    ok = client.post("/akun/konfirmasi", data={"password": DEFAULT_PASSWORD,
                                               "code": next_code(1), "next": "/akun/2fa"})
    assert ok.status_code == 303 and ok.headers["Location"] == "/akun/2fa"
    assert client.get("/akun/2fa").status_code == 200


def test_switching_2fa_off_or_new_codes_need_a_recent_confirmation(client, db):
    user = totp_user(db)
    password_step(client, user.email)
    client.post("/masuk/verifikasi", data={"code": next_code()})
    _age_reauth(client, 301)
    for path in ("/akun/2fa/matikan", "/akun/2fa/kode-pemulihan"):
        response = client.post(path, headers={"Referer": "http://localhost/akun/2fa"})
        assert response.status_code == 303, path
        assert response.headers["Location"] == "/akun/konfirmasi?next=/akun/2fa"
    assert db.session.get(User, user.id).totp_enabled_at is not None
    assert db.session.scalar(select(func.count(RecoveryCode.id))) == 1


def test_confirmation_does_not_follow_foreign_next(client, db):
    user = make_user()
    db.session.commit()
    log_in(client, user.email)
    response = client.post("/akun/konfirmasi", data={"password": DEFAULT_PASSWORD,
                                                     "next": "https://evil.example/"})
    assert response.headers["Location"] == "/akun"
