"""Reading list filters from a query string: WIB date ranges and the page number.

A bad value never makes an error page: it is ignored and explained with one message
(appended to `problems`), the way every filtered list in the app behaves.

    date_from, date_to = wib_date_range(request.args, problems)    # ?dari=...&sampai=...
    page = page_arg(request.args, problems)                          # ?hal=...
    start, end = wib_bounds(date_from, date_to)                      # UTC [start, end)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l

from app.core.clock import WIB

PAGE_MAX = 10_000


def parse_date(raw: str) -> date | None:
    """`2026-11-30` -> date; None for anything else."""
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None


def wib_date_range(args: Mapping[str, str], problems: list[str]
                   ) -> tuple[date | None, date | None]:
    """The WIB dates `dari` and `sampai` (YYYY-MM-DD); swapped when reversed."""
    found: dict[str, date | None] = {"dari": None, "sampai": None}
    for name, label in (("dari", _l("Tanggal awal")), ("sampai", _l("Tanggal akhir"))):
        raw = (args.get(name) or "").strip()
        if not raw:
            continue
        found[name] = parse_date(raw[:20])
        if found[name] is None:
            problems.append(str(_l("%(label)s \"%(value)s\" bukan tanggal (TTTT-BB-HH); "
                                   "diabaikan.", label=label, value=raw[:20])))
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
