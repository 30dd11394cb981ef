"""The WIB date filters read dates as Indonesians write them (HH/BB/TTTT, "7 Des 2026"),
still accept ISO (links, the API), show them back as HH/BB/TTTT in a text field, and explain
a bad date in words instead of failing."""

from __future__ import annotations

from datetime import date

import pytest

from app.core.filters import parse_date, wib_date_range


@pytest.mark.parametrize("typed, expected", [
    ("07/12/2026", date(2026, 12, 7)), ("7/12/2026", date(2026, 12, 7)),
    ("07-12-2026", date(2026, 12, 7)), ("07.12.2026", date(2026, 12, 7)),
    ("7 Des 2026", date(2026, 12, 7)), ("7 desember 2026", date(2026, 12, 7)),
    ("17 Agu 2026", date(2026, 8, 17)), ("1 Mei 2026", date(2026, 5, 1)),
    (" 2026-12-07 ", date(2026, 12, 7)),
])
def test_dates_are_read_day_first_or_with_indonesian_month_names(typed, expected):
    assert parse_date(typed) == expected


@pytest.mark.parametrize("typed", ["31/02/2026", "12/31/2026", "kemarin", "7 Foo 2026",
                                   "7/12/26", "", "2026-13-45"])
def test_impossible_or_unreadable_dates_are_none(typed):
    assert parse_date(typed) is None


def test_a_bad_date_is_explained_with_the_format_and_ignored():
    problems: list[str] = []
    found = wib_date_range({"dari": "31/02/2026", "sampai": "7 Des 2026"}, problems)
    assert found == (None, date(2026, 12, 7))
    assert problems == ['Tanggal awal "31/02/2026" bukan tanggal; tulis seperti 07/12/2026 '
                        '(HH/BB/TTTT). Filter tanggal ini diabaikan.']


def test_the_report_filter_shows_indonesian_dates_in_text_fields(client, login_as):
    login_as("admin")
    html = client.get("/admin/laporan?laporan=pesanan&dari=1/12/2026&sampai=7+Des+2026"
                      ).get_data(as_text=True)
    assert 'type="date"' not in html
    assert 'name="dari" inputmode="numeric"' in html and 'value="01/12/2026"' in html
    assert 'value="07/12/2026"' in html and 'placeholder="HH/BB/TTTT"' in html
    bad = client.get("/admin/laporan?laporan=pesanan&dari=12/31/2026")
    assert bad.status_code == 200
    assert "bukan tanggal; tulis seperti 07/12/2026" in bad.get_data(as_text=True)
