"""The production progress, rendered over real HTTP: six stages (Konsep Disetujui …
Pengiriman Dijadwalkan), "Selesai" is the end and not a seventh stage; the progress bar
has an accessible name."""

from __future__ import annotations

import re

from app.maklon.models import Stage
from tests.live import LiveBrowser
from tests.maklon.factories import make_maklon_client, make_signed_order, reach_stage


def _progressbar(html: str) -> dict[str, str]:
    match = re.search(r'<div class="stage-progress" role="progressbar"([^>]*)>', html)
    assert match, "no progress bar"
    return dict(re.findall(r'([\w-]+)="([^"]*)"', match.group(1)))


def _pages(live_url: str, email: str, number: str) -> list[str]:
    browser = LiveBrowser(live_url)
    browser.log_in(email)
    pages = []
    for path in (f"/maklon/{number}/produksi", "/maklon/dasbor"):
        response = browser.get(path)
        assert response.status == 200, path
        pages.append(response.text())
    return pages


def test_the_first_stage_reads_stage_1_of_6_with_a_named_progress_bar(db, live_url):
    owner = make_maklon_client()
    req = make_signed_order(client=owner)
    email, number = owner.email, req.number
    db.session.commit()
    for html in _pages(live_url, email, number):
        assert "Tahap 1 dari 6: Konsep Disetujui" in html
        assert "dari 7" not in html
        bar = _progressbar(html)
        assert bar["aria-label"] == f"Kemajuan produksi {number}"
        assert (bar["aria-valuenow"], bar["aria-valuemax"]) == ("1", "6")
        assert bar["aria-valuetext"] == "Tahap 1 dari 6: Konsep Disetujui"


def test_the_last_stage_is_6_of_6_and_a_finished_order_says_it_is_done(db, live_url):
    owner = make_maklon_client()
    shipping = make_signed_order(client=owner)
    reach_stage(shipping, Stage.SHIPPING_SCHEDULED)
    finished = make_signed_order(client=owner)
    reach_stage(finished, Stage.DONE)
    email, shipping_number, finished_number = owner.email, shipping.number, finished.number
    db.session.commit()
    browser = LiveBrowser(live_url)
    browser.log_in(email)
    html = browser.get(f"/maklon/{shipping_number}/produksi").text()
    assert "Tahap 6 dari 6: Pengiriman Dijadwalkan" in html

    html = browser.get(f"/maklon/{finished_number}/produksi").text()
    assert "Produksi selesai: 6 dari 6 tahap dilalui" in html
    assert "7 dari 7" not in html and "Tahap 7" not in html
    bar = _progressbar(html)
    assert (bar["aria-valuenow"], bar["aria-valuemax"]) == ("6", "6")
    assert bar["aria-valuetext"] == "Produksi selesai: 6 dari 6 tahap dilalui"
    assert 'aria-current="step"' not in html.split('class="stage-steps"')[1].split("</ol>")[0]


def test_the_stage_email_counts_six_stages_and_the_last_one_says_done(db):
    from sqlalchemy import select

    from app.core.models import EmailOutbox

    owner = make_maklon_client()
    req = make_signed_order(client=owner)
    reach_stage(req, Stage.DONE)
    db.session.commit()
    bodies = [row for row in db.session.scalars(select(EmailOutbox).where(
        EmailOutbox.template == "maklon_stage").order_by(EmailOutbox.id))]
    assert len(bodies) == 6
    texts = [row.body_text for row in bodies]
    assert "(1 dari 6)" not in texts[0]  # the first email is stage 2, material purchase
    assert "tahap Pembelian Bahan Baku (2 dari 6)" in texts[0]
    assert "tahap Pengiriman Dijadwalkan (6 dari 6)" in texts[4]
    assert "dari 7" not in "".join(texts)
    assert "dari 6)" not in texts[5] and "Produksi selesai." in texts[5]
