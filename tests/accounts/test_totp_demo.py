"""The demo admin and staff use two-factor login with the documented demo secret, and
`flask users totp-code` prints their current code (demo accounts only, never in production).

That the whole `flask demo load` gives the demo admin and staff that secret is checked by
tests/core/test_cli.py's demo-load test (one full load, twice, for both). The `totp-code`
tests need only the demo accounts, so they load just those (`demo_accounts_load`,
demo_load's first step): the whole demo shop took a minute or more per test.
"""

from __future__ import annotations

import pyotp

from app.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, demo_accounts_load


def _load_accounts(db) -> None:
    demo_accounts_load()
    db.session.commit()


def test_totp_code_prints_the_demo_code_and_it_logs_in(app, client, db):
    _load_accounts(db)
    result = app.test_cli_runner().invoke(args=["users", "totp-code", "admin@racik.test"])
    assert result.exit_code == 0
    code = result.output.strip()
    assert len(code) == 6 and pyotp.TOTP(DEMO_TOTP_SECRET).verify(code, valid_window=1)
    client.post("/masuk", data={"email": "admin@racik.test", "password": DEMO_PASSWORD})
    assert client.post("/masuk/verifikasi", data={"code": code}).status_code == 303
    assert client.get("/akun").status_code == 200


def test_totp_code_refuses_other_accounts(app, db):
    _load_accounts(db)
    for email in ("buyer@racik.test", "nobody@example.test"):
        result = app.test_cli_runner().invoke(args=["users", "totp-code", email])
        assert result.exit_code != 0 and "only the demo accounts" in result.output


def test_totp_code_refuses_in_production(app, db, monkeypatch):
    _load_accounts(db)
    monkeypatch.setitem(app.config, "DEMO_DATA_ALLOWED", False)
    result = app.test_cli_runner().invoke(args=["users", "totp-code", "admin@racik.test"])
    assert result.exit_code != 0 and "never shown in production" in result.output
