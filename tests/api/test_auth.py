"""API authentication: the token lifecycle (login, expiry, rotation, reuse detection,
revocation by logout, password change and deactivation), 2FA, limits, and the behaviour every
operation shares (error format, language, ETag, the OpenAPI document and its page)."""

from __future__ import annotations

import threading
from datetime import timedelta

import jwt
import pyotp
import pytest
from sqlalchemy import select

from app.accounts.api_tokens import families_sweep
from app.accounts.models import ApiRefreshToken, ApiTokenFamily
from app.api.idempotency import idempotency_sweep
from app.api.models import IdempotencyRecord
from app.audit.models import AuditEntry
from app.core.clock import utcnow
from tests.api.conftest import ApiClient, error_code, mint_tokens
from tests.conftest import log_in
from tests.factories import DEFAULT_PASSWORD, make_user

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/me"


def _login(api, email: str, password: str = DEFAULT_PASSWORD, **extra):
    return api().post(LOGIN, json={"email": email, "password": password, **extra})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- login -------------------------------------------------------------------------------------

def test_login_returns_a_working_access_token_and_a_refresh_token(api, db):
    user = make_user(roles=("customer",), email="budi@example.test")
    db.session.commit()
    response = _login(api, " Budi@Example.TEST")
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 15 * 60
    assert body["refresh_token"] and body["access_token"].count(".") == 2
    me = api().get(ME, headers=_bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.get_json()["id"] == user.id and me.get_json()["roles"] == ["customer"]
    assert response.headers["Cache-Control"] == "no-store"
    # Only the refresh token's SHA-256 is stored.
    stored = db.session.scalars(select(ApiRefreshToken.token_hash)).one()
    assert stored != body["refresh_token"] and len(stored) == 64
    assert db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "auth.login")).one().after["via"] == "api"


def test_wrong_password_and_unknown_email_are_the_same_401(api, db):
    make_user(email="ani@example.test")
    db.session.commit()
    wrong = _login(api, "ani@example.test", "salah-sekali-123")
    unknown = _login(api, "siapa@example.test")
    assert wrong.status_code == unknown.status_code == 401
    assert error_code(wrong) == error_code(unknown) == "invalid_credentials"
    assert db.session.scalars(select(ApiTokenFamily)).all() == []


def test_deactivated_user_cannot_log_in(api, db):
    user = make_user(email="off@example.test")
    user.active = False
    db.session.commit()
    assert error_code(_login(api, "off@example.test")) == "invalid_credentials"


def _enable_totp(user) -> str:
    from app.accounts.totp import secret_encrypt, totp_secret_new

    secret = totp_secret_new()
    user.totp_secret = secret_encrypt(secret)
    user.totp_enabled_at = utcnow()
    return secret


def test_login_with_2fa_needs_the_code(api, db):
    user = make_user(email="dua@example.test", roles=("staff",))
    secret = _enable_totp(user)
    db.session.commit()
    missing = _login(api, user.email)
    assert missing.status_code == 401 and error_code(missing) == "totp_required"
    assert "totp_code" in missing.get_json()["error"]["fields"]
    wrong = _login(api, user.email, totp_code="000000")
    assert wrong.status_code == 401 and error_code(wrong) == "totp_invalid"
    right = _login(api, user.email, totp_code=pyotp.TOTP(secret).now())
    assert right.status_code == 200
    assert db.session.scalars(select(ApiTokenFamily)).one().user_id == user.id


def test_role_that_must_use_2fa_is_refused_until_it_is_on(app, api, db):
    make_user(email="boss@example.test", roles=("admin",))
    db.session.commit()
    app.config["TOTP_REQUIRED_ROLES"] = ("admin",)
    try:
        response = _login(api, "boss@example.test")
    finally:
        app.config["TOTP_REQUIRED_ROLES"] = ()
    assert response.status_code == 403 and error_code(response) == "totp_setup_required"
    assert db.session.scalars(select(ApiTokenFamily)).all() == []


def test_failed_logins_are_rate_limited_like_the_web(app, api, db):
    make_user(email="limit@example.test")
    db.session.commit()
    statuses = [_login(api, "limit@example.test", "salah-123456").status_code
                for _ in range(5)]
    assert statuses == [401] * 5
    blocked = _login(api, "limit@example.test")  # even the right password now
    assert blocked.status_code == 429 and error_code(blocked) == "rate_limited"
    assert int(blocked.headers["Retry-After"]) > 0


def test_web_and_api_share_the_login_counter_of_an_account(app, api, client, db):
    make_user(email="shared@example.test")
    db.session.commit()
    for _ in range(3):
        client.post("/masuk", data={"email": "shared@example.test", "password": "salah-1234"})
    for _ in range(2):
        _login(api, "shared@example.test", "salah-123456")
    assert _login(api, "shared@example.test").status_code == 429


# --- access tokens -----------------------------------------------------------------------------

def test_expired_access_token_is_refused(app, api, db):
    user = make_user()
    db.session.commit()
    app.config["API_ACCESS_TTL"] = timedelta(seconds=-5)
    try:
        tokens = mint_tokens(app, user.id)
    finally:
        app.config["API_ACCESS_TTL"] = timedelta(minutes=15)
    response = api().get(ME, headers=_bearer(tokens["access_token"]))
    assert response.status_code == 401 and error_code(response) == "token_expired"
    assert "invalid_token" in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("forge", ["other_key", "alg_none", "garbage", "refresh_as_access"])
def test_forged_or_malformed_tokens_are_refused(app, api, db, forge):
    user = make_user()
    db.session.commit()
    tokens = mint_tokens(app, user.id)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    token = {
        "other_key": jwt.encode(claims, "not-our-key-at-all-but-long-enough", algorithm="HS256"),
        "alg_none": jwt.encode(claims, None, algorithm="none"),
        "garbage": "abc.def.ghi",
        "refresh_as_access": tokens["refresh_token"],
    }[forge]
    response = api().get(ME, headers=_bearer(token))
    assert response.status_code == 401 and error_code(response) == "token_invalid"


def test_a_non_bearer_authorization_header_is_refused(api, db):
    response = api().get(ME, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401 and error_code(response) == "token_invalid"


def test_browser_session_cookie_is_anonymous_on_the_api(app, client, db):
    """The API ignores cookies (so it needs no CSRF token): a logged-in browser is
    anonymous there."""
    user = make_user(roles=("customer",))
    db.session.commit()
    log_in(client, user.email)
    response = client.get(ME)
    assert response.status_code == 401 and error_code(response) == "unauthorized"
    assert client.get("/akun").status_code == 200  # the web session itself is fine


# --- refresh: rotation and reuse detection -----------------------------------------------------

def test_refresh_rotates_the_token_and_the_old_one_is_spent(app, api, db):
    user = make_user()
    db.session.commit()
    first = mint_tokens(app, user.id)
    response = api().post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 200
    second = response.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert api().get(ME, headers=_bearer(second["access_token"])).status_code == 200
    rows = db.session.scalars(select(ApiRefreshToken).order_by(ApiRefreshToken.id)).all()
    assert len(rows) == 2 and rows[0].used_at is not None and rows[1].used_at is None
    assert rows[0].family_id == rows[1].family_id


def test_reusing_a_spent_refresh_token_revokes_the_whole_family(app, api, db):
    user = make_user()
    db.session.commit()
    stolen = mint_tokens(app, user.id)
    other_login = mint_tokens(app, user.id)  # another device: must survive
    rotated = api().post(REFRESH, json={"refresh_token": stolen["refresh_token"]}).get_json()
    # The thief (or the victim) uses the spent token again.
    reuse = api().post(REFRESH, json={"refresh_token": stolen["refresh_token"]})
    assert reuse.status_code == 401 and error_code(reuse) == "token_reused"
    # Everything of that login is dead now: the newer refresh token and the access tokens.
    again = api().post(REFRESH, json={"refresh_token": rotated["refresh_token"]})
    assert again.status_code == 401 and error_code(again) == "token_revoked"
    for token in (stolen["access_token"], rotated["access_token"]):
        response = api().get(ME, headers=_bearer(token))
        assert response.status_code == 401 and error_code(response) == "token_revoked"
    assert api().get(ME, headers=_bearer(other_login["access_token"])).status_code == 200
    family = db.session.get(ApiTokenFamily, stolen["family_id"])
    assert family.revoked_reason == "reuse"
    assert db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "auth.api_token_reuse")).one().object_id == str(user.id)


def test_two_refreshes_racing_with_one_token_issue_one_pair(app, api, db):
    user = make_user()
    db.session.commit()
    tokens = mint_tokens(app, user.id)
    barrier = threading.Barrier(2)
    results: list[int] = []

    def refresh() -> None:
        client = ApiClient(app)
        barrier.wait()
        results.append(client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
                       .status_code)

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 401]
    # The loser counts as a reuse: the family ends (a thief racing the owner is caught).
    assert db.session.get(ApiTokenFamily, tokens["family_id"]).revoked_at is not None


def test_expired_or_unknown_refresh_tokens_are_refused(app, api, db):
    user = make_user()
    db.session.commit()
    tokens = mint_tokens(app, user.id)
    row = db.session.scalars(select(ApiRefreshToken)).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    expired = api().post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    assert expired.status_code == 401 and error_code(expired) == "token_expired"
    unknown = api().post(REFRESH, json={"refresh_token": "x" * 43})
    assert unknown.status_code == 401 and error_code(unknown) == "token_invalid"


# --- revocation --------------------------------------------------------------------------------

def test_logout_revokes_the_refresh_and_the_access_token(app, api, db):
    user = make_user()
    db.session.commit()
    client = api(user)
    assert client.post("/api/v1/auth/logout").status_code == 204
    assert error_code(client.get(ME)) == "token_revoked"
    refused = api().post(REFRESH, json={"refresh_token": client.tokens["refresh_token"]})
    assert error_code(refused) == "token_revoked"


def test_password_change_on_the_web_ends_every_api_login(app, api, client, db):
    user = make_user()
    db.session.commit()
    phone = api(user)
    log_in(client, user.email)
    response = client.post("/akun/kata-sandi", data={
        "current_password": DEFAULT_PASSWORD, "new_password": "Rahasia-baru-2026!",
        "new_password_confirm": "Rahasia-baru-2026!"})
    assert response.status_code in (200, 303), response.get_data(as_text=True)[:300]
    assert error_code(phone.get(ME)) == "token_revoked"
    refused = api().post(REFRESH, json={"refresh_token": phone.tokens["refresh_token"]})
    assert error_code(refused) == "token_revoked"


def test_password_change_through_the_api_keeps_this_login_and_ends_the_others(app, api, db):
    user = make_user()
    db.session.commit()
    this, other = api(user), api(user)
    response = this.post("/api/v1/me/password", json={
        "current_password": DEFAULT_PASSWORD, "new_password": "Rahasia-baru-2026!"})
    assert response.status_code == 204
    assert this.get(ME).status_code == 200
    assert error_code(other.get(ME)) == "token_revoked"
    assert _login(api, user.email, "Rahasia-baru-2026!").status_code == 200


def test_password_change_with_a_wrong_current_password_names_the_field(app, api, db):
    user = make_user()
    db.session.commit()
    response = api(user).post("/api/v1/me/password", json={
        "current_password": "bukan-ini-123", "new_password": "Rahasia-baru-2026!"})
    assert response.status_code == 422
    assert "current_password" in response.get_json()["error"]["fields"]


def test_deactivation_ends_api_access_at_once(app, api, db):
    from app.admin.users import user_deactivate

    user = make_user()
    admin = make_user(roles=("admin",))
    db.session.commit()
    phone = api(user)
    user_deactivate(user=user, actor=admin)
    db.session.commit()
    assert error_code(phone.get(ME)) == "token_revoked"
    refused = api().post(REFRESH, json={"refresh_token": phone.tokens["refresh_token"]})
    assert error_code(refused) == "token_revoked"


def test_sweep_forgets_dead_logins_and_old_idempotency_keys(app, db):
    user = make_user()
    db.session.commit()
    old = mint_tokens(app, user.id)
    live = mint_tokens(app, user.id)
    family = db.session.get(ApiTokenFamily, old["family_id"])
    family.last_used_at = utcnow() - timedelta(days=31)
    db.session.add_all([
        IdempotencyRecord(user_id=user.id, key="old", method="POST", path="/x",
                          request_hash="0" * 64, created_at=utcnow() - timedelta(hours=25)),
        IdempotencyRecord(user_id=user.id, key="new", method="POST", path="/x",
                          request_hash="0" * 64, created_at=utcnow())])
    db.session.commit()
    assert families_sweep() == 1 and idempotency_sweep() == 1
    db.session.commit()
    assert [f.id for f in db.session.scalars(select(ApiTokenFamily))] == [live["family_id"]]
    assert [r.key for r in db.session.scalars(select(IdempotencyRecord))] == ["new"]


# --- behaviour every operation shares ----------------------------------------------------------

def test_unknown_path_and_wrong_method_answer_in_the_error_format(api, db):
    missing = api().get("/api/v1/tidak-ada")
    assert missing.status_code == 404 and error_code(missing) == "not_found"
    wrong = api().get(LOGIN)
    assert wrong.status_code == 405 and error_code(wrong) == "method_not_allowed"
    assert "POST" in wrong.headers["Allow"]


def test_bodies_must_be_json_objects_of_known_fields(api, db):
    client = api()
    not_json = client.post(LOGIN, data="email=a", content_type="application/x-www-form-urlencoded")
    assert not_json.status_code == 415 and error_code(not_json) == "unsupported_media_type"
    broken = client.post(LOGIN, data="{", content_type="application/json")
    assert broken.status_code == 400 and error_code(broken) == "invalid_json"
    listed = client.post(LOGIN, json=[1, 2])
    assert listed.status_code == 422
    extra = client.post(LOGIN, json={"email": "a@b.test", "password": "x", "admin": True})
    assert extra.status_code == 422
    assert set(extra.get_json()["error"]["fields"]) == {"admin"}


@pytest.mark.parametrize("value", ["a\x00b", "\ud800"])
def test_strings_the_database_would_refuse_are_a_422(api, db, value):
    response = api().post(LOGIN, json={"email": value, "password": "x"})
    assert response.status_code == 422, response.get_data(as_text=True)


def test_messages_follow_accept_language_then_the_users_locale(app, api, db):
    user = make_user(email="eng@example.test")
    user.locale = "en"
    db.session.commit()
    indonesian = api().post(LOGIN, json={"email": "x@example.test", "password": "y"})
    english = api().post(LOGIN, json={"email": "x@example.test", "password": "y"},
                         headers={"Accept-Language": "en-US,en;q=0.9"})
    assert indonesian.get_json()["error"]["message"] == "Email atau kata sandi salah."
    assert english.get_json()["error"]["message"] == "Incorrect email or password."
    as_user = api(user).post("/api/v1/me/password", json={})
    assert as_user.get_json()["error"]["fields"]["current_password"] == \
        "This field is required."


def test_get_answers_carry_an_etag_and_304_when_unchanged(api, db):
    user = make_user()
    db.session.commit()
    client = api(user)
    first = client.get(ME)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    assert "Authorization" in first.headers["Vary"]
    same = client.get(ME, headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.data == b""
    user.name = "Nama Baru"
    db.session.commit()
    changed = client.get(ME, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.get_json()["name"] == "Nama Baru"


def test_the_openapi_document_describes_every_operation(app, api, db):
    from app.api.spec import OPERATIONS

    document = api().get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    described = {(method.upper(), path) for path, methods in document["paths"].items()
                 for method in methods}
    for op in OPERATIONS:
        path = op.rule
        for name in ("<id:", "<"):
            path = path.replace(name, "{")
        assert (op.method, path.replace(">", "}")) in described
    login = document["paths"]["/auth/login"]["post"]
    assert login["requestBody"]["content"]["application/json"]["schema"]["$ref"] \
        == "#/components/schemas/LoginIn"
    assert set(login["responses"]) >= {"200", "400", "401", "422", "429"}
    error = document["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["required"] == ["code", "message", "fields"]
    me = document["paths"]["/me"]["get"]
    assert me["security"] == [{"bearer": []}] and "304" in me["responses"]


def test_the_docs_page_lists_every_operation_without_scripts_from_elsewhere(app, api, db):
    from app.api.spec import OPERATIONS

    page = api().get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for op in OPERATIONS:
        assert f'id="op-{op.endpoint.removeprefix("api.")}"' in html
    assert 'id="schema-LoginIn"' in html
    assert '<script src="http' not in html and "cdn" not in html.lower()


def test_a_token_costs_one_query_per_request(app, api, db):
    """The user, its login (family) and its roles come in one SELECT."""
    from sqlalchemy import event

    user = make_user(roles=("customer",))
    db.session.commit()
    with_token, anonymous = api(user), api()
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    def selects(client) -> int:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get("/api/v1/products").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    assert selects(with_token) - selects(anonymous) == 1
