"""Page weight of the key pages as a browser loads them through the production proxy.

The app (demo data, `demo_load`) is served on loopback behind docker/nginx.conf (gzip on,
the static files served by nginx: tests/nginx.py starts it as in production). For each key
page, in the role that uses it, a fresh Chromium context (empty cache: a first visit) opens
the page and every response it fetches (HTML, CSS, JS, images, fonts) is added up:
`transferred` = the bytes on the wire (compressed body + headers, Playwright's
`request.sizes()`), `body` = decompressed. Chromium's CSS coverage (CDP
`CSS.startRuleUsageTracking`) gives the stylesheet bytes the page never uses. Then a
Lighthouse mobile run (npm `lighthouse`, CHROME_PATH=/usr/bin/chromium) of home, search
and a product page records performance and accessibility.

    bash bench/run.sh weight                       # or: make bench
    .venv/bin/python bench/pages_weight.py         # the same; --no-lighthouse to skip it
    BENCH_WEIGHT_BUDGET=40960 BENCH_STRICT=1 ...   # exit 3 when a page is over budget

Results: bench/results/weight.json (figures in bench/README.md). Never part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BUDGET = int(os.environ.get("BENCH_WEIGHT_BUDGET", str(40 * 1024)))
CHROMIUM = "/usr/bin/chromium"
LIGHTHOUSE_PAGES = ("home", "search", "product")
VIEWPORT = {"width": 360, "height": 740}


def _app(root: Path):
    from app import create_app
    from app.config import TestConfig

    instance = root / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    application = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{root / 'weight.db'}",
                             INSTANCE_PATH=str(instance), JOBS_MODE="sync",
                             LOG_LEVEL="ERROR")
    with application.app_context():
        from flask_migrate import upgrade
        from sqlalchemy import select

        from app.catalog.models import Product
        from app.demo import demo_load
        from app.extensions import db
        from app.maklon.models import MaklonRequest

        upgrade()
        started = time.monotonic()
        demo_load()
        db.session.commit()
        print(f"demo data loaded in {time.monotonic() - started:.1f}s", flush=True)
        product = db.session.scalars(select(Product.id).where(
            Product.name == "Serum Vitamin C 10% Brightening")).one()
        request_number = db.session.scalars(
            select(MaklonRequest.number).order_by(MaklonRequest.id)).first()
    return application, product, request_number


def _pages(product_id: int, request_number: str | None) -> list[tuple[str, str, str | None]]:
    """(name, path, role e-mail or None for a visitor)."""
    pages = [
        ("home", "/", None),
        ("search", "/produk?q=serum", None),
        ("product", f"/produk/{product_id}", None),
        ("login", "/masuk", None),
        ("cart", "/keranjang", "buyer@racik.test"),
        ("checkout", "/checkout", "buyer@racik.test"),
        ("buyer orders", "/pesanan", "buyer@racik.test"),
        ("seller inventory", "/seller/inventaris", "seller@racik.test"),
        ("seller analytics", "/seller/analitik", "seller@racik.test"),
        ("maklon dashboard", "/maklon/dasbor", "client@racik.test"),
        ("production board", "/produksi", "staff@racik.test"),
        ("crm board", "/crm/", "staff@racik.test"),
        ("admin dashboard", "/admin/dasbor", "admin@racik.test"),
    ]
    if request_number:
        pages.insert(10, ("maklon request", f"/maklon/{request_number}", "client@racik.test"))
    return pages


def _log_in(browser, base: str, email: str, product_id: int) -> dict:
    """The logged-in storage state of `email` (the buyer also gets a cart line)."""
    import pyotp

    from app.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET

    context = browser.new_context(base_url=base, ignore_https_errors=True, locale="id-ID")
    page = context.new_page()
    page.goto("/masuk")
    page.fill("[name=email]", email)
    page.fill("[name=password]", DEMO_PASSWORD)
    page.locator("main button[type=submit]").click()
    # The logout button sits in the (closed) account menu: present, not visible.
    page.locator("[data-testid=logout], #verify-form").first.wait_for(state="attached")
    if page.locator("#verify-form").count():
        page.fill("#verify-form [name=code]", pyotp.TOTP(DEMO_TOTP_SECRET).now())
        page.click("#verify-form button[type=submit]")
        page.wait_for_load_state()
    page.get_by_test_id("logout").wait_for(state="attached")
    if email == "buyer@racik.test":
        page.goto(f"/produk/{product_id}")
        page.get_by_test_id("add-to-cart").click()
        page.wait_for_load_state("networkidle")
    state = context.storage_state()
    context.close()
    return state


def _measure(browser, base: str, path: str, state: dict | None) -> dict:
    """One first load of `path`: bytes per resource type, and unused CSS."""
    context = browser.new_context(base_url=base, ignore_https_errors=True, locale="id-ID",
                                  viewport=VIEWPORT, is_mobile=True, has_touch=True,
                                  storage_state=state)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    sheets: dict[str, dict] = {}
    cdp.on("CSS.styleSheetAdded", lambda event: sheets.__setitem__(
        event["header"]["styleSheetId"], event["header"]))
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    cdp.send("CSS.startRuleUsageTracking")
    finished: list = []
    page.on("requestfinished", lambda request: finished.append(request))
    response = page.goto(path, wait_until="load")
    page.wait_for_load_state("networkidle")
    usage = cdp.send("CSS.stopRuleUsageTracking")["ruleUsage"]
    status = response.status if response else 0
    by_type: dict[str, int] = {}
    transferred = body = 0
    for request in finished:
        sizes = request.sizes()
        wire = sizes["responseBodySize"] + sizes["responseHeadersSize"]
        transferred += wire
        kind = request.resource_type
        by_type[kind] = by_type.get(kind, 0) + wire
        got = request.response()
        if got is not None and not 300 <= got.status < 400:  # a redirect has no body
            body += len(got.body())
    css_total = sum(int(sheet.get("length", 0)) for sheet in sheets.values()
                    if not sheet.get("isInline"))
    used = sum(int(rule["endOffset"] - rule["startOffset"]) for rule in usage
               if rule["used"] and rule["styleSheetId"] in sheets)
    context.close()
    return {"path": path, "status": status, "requests": len(finished),
            "transferred": transferred, "body": body, "by_type": by_type,
            "css_bytes": css_total, "css_unused_bytes": max(0, css_total - used),
            "css_unused_percent": round(100 * (css_total - used) / css_total, 1)
            if css_total else 0.0}


def _lighthouse_binary() -> str | None:
    for candidate in (os.environ.get("BENCH_LIGHTHOUSE", ""),
                      str(REPO / "bench" / ".tools" / "node_modules" / ".bin" / "lighthouse"),
                      shutil.which("lighthouse") or ""):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _lighthouse(url: str, out: Path) -> dict:
    binary = _lighthouse_binary()
    if binary is None:
        return {"error": "lighthouse not installed (make bench-tools)"}
    env = dict(os.environ, CHROME_PATH=CHROMIUM)
    command = [binary, url, "--quiet", "--output=json", f"--output-path={out}",
               "--only-categories=performance,accessibility", "--form-factor=mobile",
               "--chrome-flags=--headless=new --no-sandbox --ignore-certificate-errors "
               "--disable-gpu --disable-dev-shm-usage"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    if done.returncode != 0 or not out.exists():
        return {"error": (done.stderr or done.stdout)[-500:]}
    report = json.loads(out.read_text())
    audits = report["audits"]
    return {
        "performance": round(report["categories"]["performance"]["score"] * 100),
        "accessibility": round(report["categories"]["accessibility"]["score"] * 100),
        "fcp_ms": round(audits["first-contentful-paint"]["numericValue"]),
        "lcp_ms": round(audits["largest-contentful-paint"]["numericValue"]),
        "tbt_ms": round(audits["total-blocking-time"]["numericValue"]),
        "cls": round(audits["cumulative-layout-shift"]["numericValue"], 3),
        "total_bytes": round(audits["total-byte-weight"]["numericValue"]),
        "failed_accessibility": [key for key, audit in audits.items()
                                 if audit.get("score") == 0
                                 and key in {ref["id"] for ref in report["categories"]
                                             ["accessibility"]["auditRefs"]}],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "weight.json"))
    parser.add_argument("--no-lighthouse", action="store_true")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from tests.live import serve
    from tests.nginx import nginx_binary, nginx_start

    binary = nginx_binary()
    if binary is None:
        print("nginx is not installed (apt-get install nginx)", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="racik-weight-"))
    application, product_id, request_number = _app(root)
    results: dict = {"budget_bytes": BUDGET, "viewport": VIEWPORT, "pages": {},
                     "lighthouse": {}}
    with serve(application) as upstream:
        proxy = nginx_start(upstream=upstream, directory=root / "nginx", binary=binary)
        base = proxy.url(443)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True,
                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
                states: dict[str, dict] = {}
                for name, path, email in _pages(product_id, request_number):
                    if email and email not in states:
                        states[email] = _log_in(browser, base, email, product_id)
                    measured = _measure(browser, base, path, states.get(email) if email
                                        else None)
                    measured["role"] = email or "visitor"
                    measured["within_budget"] = measured["transferred"] <= BUDGET
                    results["pages"][name] = measured
                    print(f"{name:18} {measured['status']} {measured['transferred']:>7} B "
                          f"on the wire ({measured['body']:>7} B unpacked, "
                          f"{measured['requests']} requests); CSS unused "
                          f"{measured['css_unused_bytes']} of {measured['css_bytes']} B",
                          flush=True)
                browser.close()
            if not args.no_lighthouse:
                for name in LIGHTHOUSE_PAGES:
                    path = results["pages"][name]["path"]
                    found = _lighthouse(base + path, root / f"lighthouse-{name}.json")
                    results["lighthouse"][name] = found
                    print(f"lighthouse {name}: {found}", flush=True)
        finally:
            proxy.stop()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"written {out}")
    over = [name for name, page in results["pages"].items() if not page["within_budget"]]
    if over:
        print(f"over the {BUDGET} B budget: {', '.join(over)}")
    return 3 if over and os.environ.get("BENCH_STRICT") == "1" else 0


if __name__ == "__main__":
    sys.exit(main())
