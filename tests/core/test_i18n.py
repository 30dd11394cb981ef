"""The English catalog is complete, and the app really renders in English when asked.

Indonesian is the source language: every interface string is an Indonesian msgid in
`_()`, `_l()`, `gettext` or `ngettext`. When one of these tests fails because a string
is missing or untranslated, run `make messages`, translate the new entries in
app/translations/en/LC_MESSAGES/messages.po (no `#, fuzzy`), then `make translations`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po
from flask import Flask
from flask_babel import force_locale, get_babel, ngettext

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "app" / "translations"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
EN_MO = EN_PO.with_suffix(".mo")
FIX_HINT = (
    "Run `make messages`, translate the entries in "
    "app/translations/en/LC_MESSAGES/messages.po (and drop any `#, fuzzy`), "
    "then `make translations`."
)
# A named Python %-placeholder: %(name)s, %(max)d, %(price).2f, ...
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +-]*\d*(?:\.\d+)?([diouxXeEfFgGcrsa])")


def pybabel(*args: str) -> list[str]:
    """The command line for pybabel from the running interpreter's environment."""
    script = Path(sys.executable).with_name("pybabel")
    if script.is_file():
        return [str(script), *args]
    return [sys.executable, "-m", "babel.messages.frontend", *args]


def run_pybabel(*args: str) -> None:
    result = subprocess.run(pybabel(*args), cwd=ROOT, capture_output=True, text=True,
                            check=False, timeout=120)
    assert result.returncode == 0, f"pybabel {' '.join(args)} failed:\n{result.stderr}"


def catalogs_are_stale() -> bool:
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.is_file() or mo.stat().st_mtime < po.stat().st_mtime:
            return True
    return False


@pytest.fixture(scope="module", autouse=True)
def _compiled_catalogs() -> None:
    """The app reads the .mo files (build output): compile them if missing or stale."""
    if catalogs_are_stale():
        run_pybabel("compile", "-d", str(TRANSLATIONS))


@pytest.fixture
def english_app(app: Flask) -> Iterator[Flask]:
    """The app, with Flask-Babel's translation cache emptied (a catalog loaded before the
    .mo files were compiled would otherwise stay cached for the whole session)."""
    with app.app_context():
        get_babel(app).instance.domain_instance.cache.clear()
    yield app


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file)


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory: pytest.TempPathFactory) -> list[Message]:
    """Every message of the source code and templates, extracted as `make messages` does."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    run_pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext",
                "--no-location", "-o", str(pot), ".")
    messages = [message for message in read_catalog(pot) if message.id]
    assert messages, "pybabel extracted no messages at all: is babel.cfg still right?"
    return messages


@pytest.fixture(scope="module")
def english() -> Catalog:
    return read_catalog(EN_PO)


def describe(message: Message) -> str:
    text = message.id if isinstance(message.id, str) else " | ".join(message.id)
    return f"{message.context!r}: {text!r}" if message.context else repr(text)


def placeholders(text: str) -> set[tuple[str, str]]:
    return set(PLACEHOLDER.findall(text))


def translations_of(message: Message) -> list[str]:
    if isinstance(message.string, str):
        return [message.string]
    return list(message.string or ())


def test_english_catalog_header(english):
    assert str(english.locale) == "en"
    assert english.num_plurals == 2
    assert english.plural_expr == "(n != 1)"
    assert not english.fuzzy, "the catalog header is marked fuzzy: remove `#, fuzzy` at the top"


def test_every_source_string_has_an_english_translation(source_messages, english):
    missing, untranslated, fuzzy = [], [], []
    for message in source_messages:
        entry = english.get(message.id, context=message.context)
        if entry is None:
            missing.append(describe(message))
        elif not all(text.strip() for text in translations_of(entry) or [""]):
            untranslated.append(describe(message))
        elif entry.fuzzy:
            fuzzy.append(describe(message))
    problems = [
        (f"{len(items)} {kind}:\n  " + "\n  ".join(items))
        for kind, items in (
            ("msgids missing from the English catalog", missing),
            ("msgids without an English translation", untranslated),
            ("msgids marked fuzzy", fuzzy),
        )
        if items
    ]
    assert not problems, "\n".join(problems) + "\n" + FIX_HINT


def test_english_translations_keep_the_placeholders(source_messages, english):
    wrong = []
    for message in source_messages:
        entry = english.get(message.id, context=message.context)
        if entry is None:
            continue  # reported by the test above
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        expected = set().union(*(placeholders(text) for text in ids))
        forms = translations_of(entry)
        for index, text in enumerate(forms):
            found = placeholders(text)
            if entry.pluralizable and index < len(forms) - 1:
                # A singular form may leave the count out ("Try again in a minute."),
                # but must not use a name the code does not pass.
                bad = not found <= expected
            else:
                bad = found != expected
            if bad:
                wrong.append(f"{describe(message)} -> {text!r}: expected "
                             f"{sorted(expected)}, found {sorted(found)}")
    assert not wrong, (
        "English translations whose %(...)s placeholders differ from the msgid "
        "(same names and types are required):\n  " + "\n  ".join(wrong)
    )


def test_compiled_catalog_is_present():
    assert EN_MO.is_file(), f"{EN_MO} is missing. {FIX_HINT}"


def test_indonesian_is_the_default_language(english_app, client):
    html = client.get("/").get_data(as_text=True)
    assert 'lang="id"' in html
    assert "Masuk" in html
    assert "Log in" not in html


def test_login_page_renders_in_english_after_switching(english_app, client):
    response = client.post("/bahasa", data={"lang": "en"})
    assert response.status_code == 303
    response = client.get("/masuk")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Log in" in html
    assert "Password" in html
    assert "Remember me on this device" in html
    assert "Sign up" in html
    assert "Kata sandi" not in html
    assert "Ingat saya" not in html


def test_english_plural_forms(english_app):
    message = "Coba lagi dalam %(num)s menit."
    with english_app.test_request_context(), force_locale("en"):
        assert ngettext(message, message, 1) == "Try again in 1 minute."
        assert ngettext(message, message, 5) == "Try again in 5 minutes."
    with english_app.test_request_context(), force_locale("id"):
        assert ngettext(message, message, 5) == "Coba lagi dalam 5 menit."
