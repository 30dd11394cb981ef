"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l

MIN_LENGTH = 8
MAX_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt"


@cache
def common_passwords() -> frozenset[str]:
    """The 1,000 most common passwords (lower-cased), shipped in the repository."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip())


def _hasher() -> PasswordHasher:
    config = current_app.config
    hasher = current_app.extensions.get("racik_hasher")
    if hasher is None:
        hasher = PasswordHasher(
            time_cost=config["ARGON2_TIME_COST"],
            memory_cost=config["ARGON2_MEMORY_COST"],
            parallelism=config["ARGON2_PARALLELISM"],
            type=Type.ID,
        )
        current_app.extensions["racik_hasher"] = hasher
    return hasher


def password_hash(password: str) -> str:
    return _hasher().hash(password)


def password_verify(stored_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)


def dummy_verify(password: str) -> None:
    """Spend the time of a real verification (for unknown emails: no timing oracle)."""
    dummy = current_app.extensions.get("racik_dummy_hash")
    if dummy is None:
        dummy = current_app.extensions["racik_dummy_hash"] = password_hash("racik-dummy")
    password_verify(dummy, password)


def password_problems(password: str, *, email: str = "") -> list[str]:
    """Reasons `password` is not acceptable, in the user's language (empty: acceptable)."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(str(_l("Kata sandi minimal %(n)s karakter.", n=MIN_LENGTH)))
    if len(password) > MAX_LENGTH:
        problems.append(str(_l("Kata sandi maksimal %(n)s karakter.", n=MAX_LENGTH)))
    lowered = password.lower()
    if lowered in common_passwords():
        problems.append(
            str(_l("Kata sandi ini terlalu umum dan mudah ditebak. Pilih yang lain."))
        )
    elif email and lowered == email.strip().lower():
        problems.append(str(_l("Kata sandi tidak boleh sama dengan email.")))
    return problems
