"""Back-office layout on a 360x740 phone and a 1024x600 tablet: the maklon spec grid and
every `.facts` list leave their values room (label over value on a phone) and never break
a word in the middle ("Peraw/atan kulit"), nor push the page sideways."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import open_page, page_widths

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "racik-demo-2026"

# Each value (dd) of each label/value list: its width, overflow, and every word that the
# browser split over two lines (a word's range with two line boxes).
DL_PROBLEMS = """
() => {
  const problems = [];
  for (const dl of document.querySelectorAll("dl.maklon-spec, dl.facts")) {
    const dlWidth = dl.getBoundingClientRect().width;
    for (const dd of dl.querySelectorAll(":scope > dd")) {
      const box = dd.getBoundingClientRect();
      const what = `${Math.round(box.width)}px: ${dd.textContent.trim()}`;
      if (dd.scrollWidth > dd.clientWidth + 1) problems.push(`overflow ${what}`);
      const stacked = innerWidth < 600 && !dl.classList.contains("order-totals");
      if (stacked && box.width < dlWidth * 0.9) problems.push(`not under its label ${what}`);
      if (innerWidth >= 600 && box.width < dlWidth * 0.5) problems.push(`squeezed ${what}`);
      const walker = document.createTreeWalker(dd, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const re = /[^\\s]+/g;
        let m;
        while ((m = re.exec(node.data))) {
          if (m[0].length > 24) continue;  // a digest or a token may break anywhere
          const r = document.createRange();
          r.setStart(node, m.index); r.setEnd(node, m.index + m[0].length);
          const tops = new Set([...r.getClientRects()].map(x => Math.round(x.top)));
          if (tops.size > 1) problems.push(`word broken: ${m[0]}`);
        }
      }
    }
  }
  return problems;
}
"""


def _log_in(page: Page, email: str) -> None:
    page.goto("/masuk")
    page.fill("#login-form [name=email]", email)
    page.fill("#login-form [name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")


@pytest.mark.parametrize("context", ["phone-360x740", "desktop-1024x600"])
def test_spec_grid_and_facts_never_squeeze_or_break_words(chromium_browser, live_server,
                                                           context):
    with open_page(chromium_browser, live_server, context) as page:
        _log_in(page, "client@racik.test")
        page.goto("/maklon")
        numbers = sorted(set(re.findall(r"/maklon/(MK-\d{4}-\d+)\"",
                                        page.content())))
        assert numbers, "the demo client has maklon requests"
        checked = 0
        for number in numbers:
            for path in (f"/maklon/{number}", f"/maklon/{number}/pembayaran",
                         f"/maklon/{number}/kontrak"):
                response = page.goto(path)
                if response is None or response.status != 200:
                    continue
                lists = page.locator("dl.maklon-spec, dl.facts").count()
                if not lists:
                    continue
                checked += lists
                problems = page.evaluate(DL_PROBLEMS)
                assert not problems, f"{path} at {context}: {problems}"
                widths = page_widths(page)
                assert widths[0] <= widths[1], f"{path} scrolls sideways {widths}"
        assert checked >= 2, "no spec grid or facts list was checked"
