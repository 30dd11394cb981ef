"""Signing a contract with two-factor login on, over real HTTP: a recovery code is accepted
wherever a code from the authenticator app is asked, and only once."""

from __future__ import annotations

from datetime import timedelta

import pyotp
from sqlalchemy import func, select

from app.accounts.models import RecoveryCode
from app.accounts.totp import totp_enable
from app.core.clock import utcnow
from app.maklon.models import ContractSignature, MaklonRequest, RequestStatus
from tests.factories import DEFAULT_PASSWORD
from tests.live import LiveBrowser
from tests.maklon.factories import make_maklon_client, make_maklon_request, make_quote

SECRET = pyotp.random_base32()


def _two_factor_client(db) -> tuple[str, list[str], list[str]]:
    """A client with 2FA on (enrolled an hour ago) and two requests with an approved quote:
    (email, recovery codes, request numbers)."""
    owner = make_maklon_client()
    earlier = utcnow() - timedelta(hours=1)
    codes = totp_enable(user=owner, secret=SECRET, code=pyotp.TOTP(SECRET).at(earlier),
                        now=earlier)
    assert codes
    numbers = []
    for _ in range(2):
        req = make_maklon_request(client=owner)
        make_quote(request=req)
        numbers.append(req.number)
    email = owner.email
    db.session.commit()
    return email, codes, numbers


def _log_in_with_two_factor(live_url: str, email: str) -> LiveBrowser:
    browser = LiveBrowser(live_url)
    browser.get("/masuk")
    step_one = browser.post("/masuk", {"email": email, "password": DEFAULT_PASSWORD})
    assert step_one.status == 303 and "/masuk/verifikasi" in step_one.headers["Location"]
    browser.get("/masuk/verifikasi")
    step_two = browser.post("/masuk/verifikasi", {"code": pyotp.TOTP(SECRET).now()})
    assert step_two.status == 303, step_two.text()[:500]
    browser.page_token = ""
    return browser


def _status(db, number: str) -> str:
    db.session.expire_all()
    return db.session.scalar(select(MaklonRequest.status).where(
        MaklonRequest.number == number))


def test_a_recovery_code_signs_the_contract_once_and_is_refused_the_second_time(db,
                                                                              live_url):
    email, codes, (first, second) = _two_factor_client(db)
    browser = _log_in_with_two_factor(live_url, email)
    page = browser.get(f"/maklon/{first}/kontrak")
    assert "kode pemulihan" in page.text()

    signed = browser.post(f"/maklon/{first}/kontrak/setuju", {"secret": codes[0]})
    assert signed.status == 303, signed.text()[:800]
    assert _status(db, first) == RequestStatus.SIGNED
    row = db.session.scalars(select(ContractSignature)).one()
    assert row.auth_method == "recovery"
    assert db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.used_at.is_not(None))) == 1
    db.session.commit()

    # The same code again: refused for the next contract, and at the re-authentication.
    again = browser.post(f"/maklon/{second}/kontrak/setuju", {"secret": codes[0]})
    assert again.status == 422
    assert "kode pemulihan salah atau sudah dipakai" in again.text()
    assert _status(db, second) == RequestStatus.NEGOTIATING
    db.session.commit()
    browser.get("/akun/konfirmasi")
    reauth = browser.post("/akun/konfirmasi", {"password": DEFAULT_PASSWORD,
                                               "code": codes[0], "next": "/akun"})
    assert reauth.status == 422
    assert "sudah dipakai" in reauth.text()

    # Another, unused recovery code still signs.
    other = browser.post(f"/maklon/{second}/kontrak/setuju", {"secret": codes[1]})
    assert other.status == 303
    assert _status(db, second) == RequestStatus.SIGNED


def test_a_wrong_code_signs_nothing(db, live_url):
    email, _codes, (first, _second) = _two_factor_client(db)
    browser = _log_in_with_two_factor(live_url, email)
    browser.get(f"/maklon/{first}/kontrak")
    response = browser.post(f"/maklon/{first}/kontrak/setuju", {"secret": "zzzz-zzzz"})
    assert response.status == 422
    assert _status(db, first) == RequestStatus.NEGOTIATING
    assert db.session.scalar(select(func.count()).select_from(ContractSignature)) == 0
