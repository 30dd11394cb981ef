"""The render generation: rendered pages and shared answers in the data cache are keyed by
a digest of the running code, so the processes of one deploy share them and a deploy of
other code never serves what the previous one stored (a shared Redis outlives a deploy)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import app.catalog.cache as catalog_cache
import app.core.cache as core_cache
import app.core.shared_answers as shared_answers
from app.core.cache import RENDER_GENERATION, code_generation
from tests.factories import make_category, make_product, make_user
from tests.live import raw_request

ROOT = Path(__file__).resolve().parents[2]


def test_every_process_of_the_same_code_has_the_same_generation():
    other = subprocess.run(
        [sys.executable, "-c",
         "from app.core.cache import RENDER_GENERATION; print(RENDER_GENERATION)"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    assert other.stdout.strip() == RENDER_GENERATION
    assert code_generation(ROOT / "app") == RENDER_GENERATION


def _tree(root: Path) -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "templates" / "page.html").write_text("<p>{{ name }}</p>\n")
    (root / "views.py").write_text("def view():\n    return 'x'\n")
    (root / "static").mkdir()
    (root / "static" / "app.css").write_text("body { margin: 0 }\n")
    return root


def test_the_generation_follows_the_code_and_nothing_else(tmp_path):
    first, second = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert code_generation(first) == code_generation(second)  # another checkout, same code
    (second / "__pycache__").mkdir()
    (second / "__pycache__" / "views.cpython-311.pyc").write_bytes(b"\x00compiled")
    assert code_generation(first) == code_generation(second)  # byte code is not code

    for change in (
            lambda root: (root / "templates" / "page.html").write_text("<p>{{ name }}!</p>\n"),
            lambda root: (root / "views.py").write_text("def view():\n    return 'y'\n"),
            lambda root: (root / "static" / "app.css").write_text("body { margin: 1px }\n"),
            lambda root: (root / "templates" / "page.html").rename(root / "templates" / "p.html"),
            lambda root: (root / "static" / "new.js").write_text(""),
    ):
        changed = tmp_path / "changed"
        shutil.rmtree(changed, ignore_errors=True)
        _tree(changed)
        change(changed)
        assert code_generation(changed) != code_generation(first)


def test_a_page_cached_by_other_code_is_not_served(app, cache_on, live_url, db, monkeypatch):
    """A product page and a search cached under this generation are hits; once the code
    differs (a deploy, sharing the same cache), the same URLs are rendered afresh."""
    seller = make_user(roles=("seller",), store_name="Toko Generasi")
    product = make_product(store=seller.store, name="Serum Generasi", category=make_category())
    db.session.commit()
    paths = [f"/produk/{product.id}", "/produk?q=generasi", "/"]
    for path in paths:
        raw_request(live_url, path)
        assert raw_request(live_url, path).headers["X-Racik-Cache"] == "hit", path

    deployed = "0123456789ab"  # what other code's digest would be
    monkeypatch.setattr(core_cache, "RENDER_GENERATION", deployed)
    monkeypatch.setattr(catalog_cache, "RENDER_GENERATION", deployed)
    monkeypatch.setattr(shared_answers, "_ANSWER_PREFIX", f"answer:{deployed}:")
    for path in paths:
        again = raw_request(live_url, path)
        assert again.status == 200 and again.headers["X-Racik-Cache"] == "miss", path
        assert raw_request(live_url, path).headers["X-Racik-Cache"] == "hit", path
