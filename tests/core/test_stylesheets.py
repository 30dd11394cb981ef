"""Per-area stylesheets (issue 20, page weight): every page links the base `app.css` and
only the area sheets its blueprint (or endpoint) needs, in cascade order — and no page
loses a rule: every class a blueprint's templates (with the partials they include) use
that is styled only in an area sheet is linked on that blueprint's pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.core.stylesheets import BLUEPRINT_SHEETS, ENDPOINT_SHEETS, ORDER, sheets_for
from tests.live import raw_request

ROOT = Path(__file__).resolve().parents[2] / "app"
TEMPLATES = ROOT / "templates"
CSS = ROOT / "static" / "css"
# The template of each endpoint with its own sheets (app/core/stylesheets.ENDPOINT_SHEETS).
ENDPOINT_TEMPLATES = {"catalog.search": "catalog/search.html",
                      "catalog.store": "catalog/store.html",
                      "catalog.product": "catalog/product.html",
                      "maklon.milestone_payment": "maklon/milestone_pay.html"}
LINK = re.compile(r'<link rel="stylesheet" href="/static/css/([^"?]+)')
REF = re.compile(r'{%-?\s*(?:include|import|from|extends)\s+["\']([^"\']+)["\']')


def _tokens(source: str) -> set[str]:
    """Class names a template may set: class="…" words and quoted literals (classes set
    by a condition, `{{ 'x' if … }}`, or passed to a macro)."""
    found: set[str] = set()
    for match in re.finditer(r'class="([^"]*)"', source):
        found |= set(re.findall(r"[a-zA-Z][\w-]*", match.group(1)))
    return found | set(re.findall(r"['\"]([a-z][\w-]*)['\"]", source))


def _templates() -> dict[str, tuple[set[str], set[str]]]:
    """{relative path: (referenced templates, tokens)}"""
    out = {}
    for path in TEMPLATES.rglob("*.html"):
        source = path.read_text()
        out[str(path.relative_to(TEMPLATES))] = (set(REF.findall(source)), _tokens(source))
    return out


def _closure(name: str, templates: dict, seen: set[str]) -> set[str]:
    if name in seen or name not in templates:
        return seen
    seen.add(name)
    for ref in templates[name][0]:
        _closure(ref, templates, seen)
    return seen


def _selectors(sheet: Path) -> list[set[str]]:
    """The class sets of every selector in `sheet` (one set per comma-separated part)."""
    text = re.sub(r"/\*.*?\*/", "", sheet.read_text(), flags=re.S)
    found = []
    for selector in re.findall(r"([^{};]+)\{", text):
        if selector.strip().startswith("@"):
            continue
        for part in selector.split(","):
            classes = set(re.findall(r"\.([a-zA-Z][\w-]*)", part))
            if classes:
                found.append(classes)
    return found


def _needed(tokens: set[str]) -> set[str]:
    return {name for name in ORDER
            if any(classes <= tokens for classes in _selectors(CSS / f"area-{name}.css"))}


@pytest.mark.parametrize("blueprint", sorted(BLUEPRINT_SHEETS))
def test_each_blueprint_links_every_area_sheet_its_templates_use(blueprint):
    templates = _templates()
    tokens: set[str] = set()
    own_sheets = {ENDPOINT_TEMPLATES[endpoint] for endpoint in ENDPOINT_SHEETS
                  if endpoint.startswith(f"{blueprint}.")}
    for name in templates:
        if name.split("/")[0] == blueprint.replace("crm_public", "crm") \
                and name not in own_sheets:
            for used in _closure(name, templates, set()):
                tokens |= templates[used][1]
    linked = {sheet.removeprefix("css/area-").removesuffix(".css")
              for sheet in sheets_for(blueprint, None)}
    assert _needed(tokens) - linked == set()


@pytest.mark.parametrize("endpoint", sorted(ENDPOINT_SHEETS))
def test_each_endpoint_override_links_what_its_template_uses(endpoint):
    page = ENDPOINT_TEMPLATES[endpoint]
    templates = _templates()
    tokens: set[str] = set()
    for used in _closure(page, templates, set()):
        tokens |= templates[used][1]
    linked = {sheet.removeprefix("css/area-").removesuffix(".css")
              for sheet in sheets_for(None, endpoint)}
    assert _needed(tokens) - linked == set()


def test_base_sheet_styles_nothing_the_area_sheets_style_for_the_shell():
    """The layout every page shares (base.html, errors, macros) is styled by app.css
    alone: no area sheet holds a rule that only shell classes satisfy."""
    templates = _templates()
    tokens: set[str] = set()
    for name in templates:
        if name == "base.html" or name.startswith(("errors/", "_macros/")):
            for used in _closure(name, templates, set()):
                tokens |= templates[used][1]
    assert _needed(tokens) == set()


def test_an_unlisted_blueprint_links_every_area_sheet_in_cascade_order():
    assert sheets_for("a-new-area", "a-new-area.page") == [f"css/area-{n}.css" for n in ORDER]
    assert sheets_for(None, None) == []


def test_pages_over_http_link_the_base_and_only_their_area_sheets(db, live_url):
    home = LINK.findall(raw_request(live_url, "/").text())
    search = LINK.findall(raw_request(live_url, "/produk").text())
    login = LINK.findall(raw_request(live_url, "/masuk").text())

    assert home[:2] == ["app.css", "area-shop.css"] and "area-maklon.css" not in home
    assert search[:2] == ["app.css", "area-shop.css"] and "area-orders.css" not in search
    assert login[0] == "app.css"
    assert [s for s in login if s.startswith("area-")] == []
    for sheet in {*home, *search, *login}:
        assert raw_request(live_url, f"/static/css/{sheet}").status == 200


def test_base_and_area_sheets_use_colour_tokens_not_raw_literals():
    """Colours are named once, in app.css's :root (issue 23): the base and area sheets
    refer to them with var(--token), so a colour changes in one place."""
    css = CSS
    literal = re.compile(r"#[0-9a-fA-F]{3,8}\b|rgba?\(")
    base = (css / "app.css").read_text()
    root = re.search(r":root \{.*?\n\}", base, re.S)
    assert root and "--brand:" in root.group(0) and "--danger:" in root.group(0)
    sheets = {"app.css": base[root.end():]}
    sheets.update({p.name: p.read_text() for p in css.glob("area-*.css")})
    for name, text in sheets.items():
        found = literal.findall(re.sub(r"/\*.*?\*/", "", text, flags=re.S))
        assert not found, f"{name}: {found}"
