"""Reading list filters from a query string: WIB date ranges and the page number.

A bad value never makes an error page: it is ignored and explained with one message
(appended to `problems`), the way every filtered list in the app behaves.

    date_from, date_to = wib_date_range(request.args, problems)    # ?dari=...&sampai=...
    page = page_arg(request.args, problems)                          # ?hal=...
    start, end = wib_bounds(date_from, date_to)                      # UTC [start, end)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l

from app.core.clock import WIB

PAGE_MAX = 10_000


# Month names as people write them in a date ("7 Des 2026", "7 Desember 2026", "7 Dec 2026").
_MONTHS = {name: number for number, names in enumerate((
    ("jan", "januari", "january"), ("feb", "februari", "february", "peb"),
    ("mar", "maret", "march"), ("apr", "april"), ("mei", "may"), ("jun", "juni", "june"),
    ("jul", "juli", "july"), ("agu", "agt", "agustus", "aug", "august"),
    ("sep", "sept", "september"), ("okt", "oktober", "oct", "october"),
    ("nov", "nopember", "november"), ("des", "desember", "dec", "december")), start=1)
    for name in names}
_NUMERIC = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_WORDS = re.compile(r"(\d{1,2})\s+([a-z]+)\.?\s+(\d{4})")


def parse_date(raw: str) -> date | None:
    """A date as an Indonesian types or reads it: `30/11/2026` (day first; `-` or `.` also
    separate), `30 Nov 2026` / `30 November 2026`, or ISO `2026-11-30` (links, the API).
    None for anything else, an impossible day included (`31/02/2026`)."""
    text = raw.strip().lower()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    numeric, words = _NUMERIC.fullmatch(text), _WORDS.fullmatch(text)
    try:
        if numeric:
            day, month, year = (int(part) for part in numeric.groups())
            return date(year, month, day)
        if words and words.group(2) in _MONTHS:
            return date(int(words.group(3)), _MONTHS[words.group(2)], int(words.group(1)))
    except ValueError:
        return None
    return None


def wib_date_range(args: Mapping[str, str], problems: list[str]
                   ) -> tuple[date | None, date | None]:
    """The WIB dates `dari` and `sampai` (HH/BB/TTTT, "7 Des 2026" or ISO); swapped when
    reversed."""
    found: dict[str, date | None] = {"dari": None, "sampai": None}
    for name, label in (("dari", _l("Tanggal awal")), ("sampai", _l("Tanggal akhir"))):
        raw = (args.get(name) or "").strip()
        if not raw:
            continue
        found[name] = parse_date(raw[:20])
        if found[name] is None:
            problems.append(str(_l("%(label)s \"%(value)s\" bukan tanggal; tulis seperti "
                                   "07/12/2026 (HH/BB/TTTT). Filter tanggal ini diabaikan.",
                                   label=label, value=raw[:20])))
    date_from, date_to = found["dari"], found["sampai"]
    if date_from and date_to and date_from > date_to:
        problems.append(str(_l("Tanggal awal sesudah tanggal akhir; keduanya ditukar.")))
        date_from, date_to = date_to, date_from
    return date_from, date_to


def page_arg(args: Mapping[str, str], problems: list[str], *, page_max: int = PAGE_MAX
             ) -> int:
    """The page number `hal` (1 when absent or bad)."""
    raw = (args.get("hal") or "").strip()
    if not raw:
        return 1
    if raw.isdigit() and 1 <= int(raw) <= page_max:
        return int(raw)
    problems.append(str(_l("Halaman \"%(value)s\" tidak valid; halaman pertama ditampilkan.",
                           value=raw[:20])))
    return 1


def wib_bounds(date_from: date | None, date_to: date | None
               ) -> tuple[datetime | None, datetime | None]:
    """UTC bounds [start, end) of the WIB days date_from..date_to (either may be open)."""
    start = end = None
    if date_from is not None:
        start = datetime.combine(date_from, time(0), WIB).astimezone(UTC)
    if date_to is not None:
        end = datetime.combine(date_to + timedelta(days=1), time(0), WIB).astimezone(UTC)
    return start, end
