"""The contract seal key ring, from outside: contracts sealed before a rotation of
CONTRACT_SEAL_KEY still verify on the public page (a new app instance, over real HTTP),
which names the key; new contracts are sealed with the new key; tampering still fails."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from app import create_app
from app.config import TestConfig
from app.core.storage import storage_path
from app.extensions import db as _db
from app.maklon.contracts import public_key_text, seal_key_id, seal_key_new
from app.maklon.models import ContractSignature
from tests.live import LiveBrowser, serve
from tests.maklon.factories import make_signed_request


def _key_id(private_b64: str) -> str:
    return seal_key_id(Ed25519PrivateKey.from_private_bytes(
        base64.b64decode(private_b64)).public_key())


def _public(private_b64: str) -> str:
    return public_key_text(Ed25519PrivateKey.from_private_bytes(
        base64.b64decode(private_b64)).public_key())


def _instance(app, **keys: str):
    """Another app instance on the suite's database and files, with other seal keys (as
    after a restart with a changed environment)."""
    return create_app(TestConfig, SQLALCHEMY_DATABASE_URI=app.config[
        "SQLALCHEMY_DATABASE_URI"], INSTANCE_PATH=app.instance_path, **keys)


def _verify(base_url: str, code: str, pdf: bytes) -> str:
    browser = LiveBrowser(base_url)
    browser.get("/kontrak/verifikasi")
    response = browser.post_multipart("/kontrak/verifikasi", {"kode": code},
                                      {"pdf": ("kontrak.pdf", pdf, "application/pdf")})
    assert response.status == 200, response.text()[:500]
    return response.text()


def _signed_now() -> tuple[str, bytes, str]:
    """A freshly signed contract of the current app: (code, PDF bytes, key id)."""
    make_signed_request()
    row = _db.session.scalars(select(ContractSignature).order_by(
        ContractSignature.id.desc())).first()
    code, pdf, key_id = row.verification_code, storage_path(row.pdf_key).read_bytes(), \
        row.seal_key_id
    _db.session.commit()
    return code, pdf, key_id


def test_a_contract_sealed_before_a_key_rotation_still_verifies_and_names_its_key(
        app, db, monkeypatch):
    key_a, key_b = seal_key_new(), seal_key_new()
    monkeypatch.setitem(app.config, "CONTRACT_SEAL_KEY", key_a)
    old_code, old_pdf, old_key = _signed_now()
    assert old_key == _key_id(key_a)

    # The rotation: B signs from now on, A's public half stays in the ring (new instance).
    rotated = _instance(app, CONTRACT_SEAL_KEY=key_b, CONTRACT_SEAL_PUBLIC_KEYS=_public(key_a))
    with serve(rotated) as base_url:
        html = _verify(base_url, old_code, old_pdf)
        assert 'data-testid="contract-valid"' in html
        assert f"{_key_id(key_a)} (kunci sebelumnya)" in html
        assert "tidak dikenal" not in html

        with rotated.app_context():
            new_code, new_pdf, new_key = _signed_now()
        assert new_key == _key_id(key_b)
        html = _verify(base_url, new_code, new_pdf)
        assert 'data-testid="contract-valid"' in html
        assert f"{_key_id(key_b)} (kunci saat ini)" in html

        # Tampering with the old contract's sealed row still fails under the ring.
        row = db.session.scalars(select(ContractSignature).where(
            ContractSignature.verification_code == old_code)).one()
        row.ip = "198.51.100.1"
        db.session.commit()
        html = _verify(base_url, old_code, old_pdf)
        assert 'data-testid="contract-invalid"' in html
        assert "Segel platform tidak sah" in html


def test_a_contract_whose_key_left_the_ring_names_the_key_as_unknown(app, db, monkeypatch):
    key_a, key_b = seal_key_new(), seal_key_new()
    monkeypatch.setitem(app.config, "CONTRACT_SEAL_KEY", key_a)
    code, pdf, _ = _signed_now()
    forgotten = _instance(app, CONTRACT_SEAL_KEY=key_b)
    with serve(forgotten) as base_url:
        html = _verify(base_url, code, pdf)
    assert 'data-testid="contract-invalid"' in html
    assert "kunci yang tidak dikenal" in html
    assert f"{_key_id(key_a)} (tidak dikenal)" in html


def test_keys_add_prints_a_new_key_and_keeps_the_current_public_key_for_verifying(
        app, monkeypatch):
    key_a = seal_key_new()
    monkeypatch.setitem(app.config, "CONTRACT_SEAL_KEY", key_a)
    result = app.test_cli_runner().invoke(args=["contracts", "keys", "add"])
    assert result.exit_code == 0, result.output
    lines = dict(line.split("=", 1) for line in result.output.splitlines()
                 if line and not line.startswith("#"))
    assert set(lines) == {"CONTRACT_SEAL_KEY", "CONTRACT_SEAL_PUBLIC_KEYS"}
    assert lines["CONTRACT_SEAL_KEY"] != key_a
    assert lines["CONTRACT_SEAL_PUBLIC_KEYS"].split(",") == [_public(key_a)]
    # Applying the printed settings: the new key signs, A still verifies.
    monkeypatch.setitem(app.config, "CONTRACT_SEAL_KEY", lines["CONTRACT_SEAL_KEY"])
    monkeypatch.setitem(app.config, "CONTRACT_SEAL_PUBLIC_KEYS",
                        lines["CONTRACT_SEAL_PUBLIC_KEYS"])
    listed = app.test_cli_runner().invoke(args=["contracts", "keys", "list"]).output
    assert listed.splitlines() == [f"{_key_id(lines['CONTRACT_SEAL_KEY'])}  current (signs)",
                                   f"{_key_id(key_a)}  verifies only"]
