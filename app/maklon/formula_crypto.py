"""Formula compositions at rest: AES-256-GCM with a key ring.

`FORMULA_KEYS` (environment) is a comma-separated list of `<key id>:<base64 32-byte key>`;
the first is the current key (new and re-encrypted compositions use it), the others only
decrypt what was written under them, until `flask formulas rotate-key` re-encrypted it.
Development and tests without FORMULA_KEYS use one key derived from SECRET_KEY (id
"dev"); production refuses to start without FORMULA_KEYS.

Stored value: `<key id>:<base64(nonce(12) + ciphertext + tag)>`, with the formula's id as
associated data, so a ciphertext copied onto another formula does not decrypt. The plain
composition is a JSON list of lines: `[{"material_id": 3, "amount": "0.3000"}, ...]` —
amount of the raw material's base unit per produced unit, as a decimal string.

Every read of a composition is written to the audit log (`formula.decrypt`) by
`composition_read`: call it, never `composition_decrypt`, from routes and services.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from app.core.db import transactions_may_write

NONCE_BYTES = 12
DEV_KEY_ID = "dev"


class FormulaKeyError(Exception):
    """FORMULA_KEYS is malformed, or a stored composition names a key we do not have."""


class CompositionUnreadable(Exception):
    """A stored composition does not decrypt (damaged, or moved to another formula)."""


@dataclass(frozen=True)
class FormulaLine:
    material_id: int
    amount: Decimal  # base units of the material per produced unit


def _parse_keys(value: str) -> list[tuple[str, bytes]]:
    ring: list[tuple[str, bytes]] = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        key_id, sep, encoded = part.partition(":")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if not sep or not key_id or len(key) != 32:
            raise FormulaKeyError(f"FORMULA_KEYS entry {key_id or '?'!r} is not "
                                  "<id>:<base64 of 32 bytes>")
        if any(existing == key_id for existing, _ in ring):
            raise FormulaKeyError(f"FORMULA_KEYS names key {key_id!r} twice")
        ring.append((key_id, key))
    return ring


def key_ring() -> list[tuple[str, bytes]]:
    """[(key id, key)], the current key first."""
    configured = current_app.config.get("FORMULA_KEYS", "")
    if configured:
        return _parse_keys(configured)
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"racik formula key").derive(current_app.config["SECRET_KEY"].encode())
    return [(DEV_KEY_ID, derived)]


def current_key_id() -> str:
    return key_ring()[0][0]


def new_key() -> str:
    """A fresh key entry for FORMULA_KEYS (`flask formulas new-key`)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _aad(formula_id: int) -> bytes:
    return f"racik-formula:{formula_id}".encode()


def encrypt_lines(formula_id: int, lines: list[FormulaLine]) -> tuple[str, str]:
    """(stored composition, key id) of `lines` under the current key."""
    key_id, key = key_ring()[0]
    plain = json.dumps([{"material_id": line.material_id, "amount": str(line.amount)}
                        for line in lines], separators=(",", ":")).encode()
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plain, _aad(formula_id))
    return f"{key_id}:" + base64.b64encode(nonce + sealed).decode(), key_id


def composition_decrypt(formula_id: int, stored: str) -> list[FormulaLine]:
    """The lines of a stored composition. No audit: use `composition_read`."""
    key_id, _, payload = (stored or "").partition(":")
    keys = dict(key_ring())
    if key_id not in keys:
        raise FormulaKeyError(f"formula {formula_id} is encrypted with key {key_id!r}, "
                              "which FORMULA_KEYS does not hold")
    try:
        raw = base64.b64decode(payload, validate=True)
        plain = AESGCM(keys[key_id]).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                             _aad(formula_id))
        data: Any = json.loads(plain)
        return [FormulaLine(material_id=int(item["material_id"]),
                            amount=Decimal(str(item["amount"]))) for item in data]
    except (binascii.Error, ValueError, InvalidTag, KeyError, TypeError,
            InvalidOperation) as error:
        raise CompositionUnreadable(f"formula {formula_id} does not decrypt") from error


def composition_read(formula: Any, *, actor: Any, purpose: str) -> list[FormulaLine]:
    """Decrypt `formula`'s composition and write `formula.decrypt` to the audit log: in the
    caller's transaction when it writes anyway (kept only if it commits), otherwise at once
    in a transaction of its own (a page view). `purpose`: why (view, pricing, reserve...)."""
    from app.audit.services import audit_record, audit_record_now

    lines = composition_decrypt(formula.id, formula.composition)
    record = audit_record if transactions_may_write() else audit_record_now
    record("formula.decrypt", actor=actor, object_type="formula", object_id=formula.id,
           after={"purpose": purpose, "key_id": formula.key_id}, note=formula.name)
    return lines
