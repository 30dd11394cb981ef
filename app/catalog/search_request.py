"""One normalisation of a product search request, for the web search (`/produk`) and the
API (`GET /api/v1/products`).

Each caller first reads its own input shape into a `SearchRequest` (the web parses what
people type: "Rp 50.000", `tersedia=on`; the API lets pydantic check types and bounds), then
`search_request_normalize` applies the rules both must share: the keyword trimmed to 100
characters, category and store looked up by slug, minimum above maximum swapped, a rating
outside 1-5 and a page outside 1-10,000 ignored, and the default sort (relevance with
keywords, else newest). What it could not use comes back as flags; the web turns them into
messages and ignores the filter, the API answers 422 at the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.catalog.queries import SORTS, SearchParams, category_by_slug, store_by_slug

MAX_QUERY = 100
MAX_PAGE = 10_000


@dataclass
class SearchRequest:
    """A search as the caller received it, already typed (slugs, not objects)."""

    q: str = ""
    category: str = ""
    price_min: int | None = None
    price_max: int | None = None
    store: str = ""
    in_stock: bool = False
    rating: int | None = None
    sort: str = ""
    page: int | None = None


@dataclass
class NormalizedSearch:
    params: SearchParams
    # Fields the request named but that could not be used ("category", "store").
    unknown: set[str] = field(default_factory=set)
    prices_swapped: bool = False


def search_request_normalize(request: SearchRequest) -> NormalizedSearch:
    """The `SearchParams` for a request, and what of it was unknown or corrected."""
    params = SearchParams(q=(request.q or "").strip()[:MAX_QUERY].strip())
    result = NormalizedSearch(params=params)
    if request.category:
        params.category = category_by_slug(request.category)
        if params.category is None:
            result.unknown.add("category")
    if request.store:
        params.store = store_by_slug(request.store)
        if params.store is None:
            result.unknown.add("store")
    params.price_min, params.price_max = request.price_min, request.price_max
    if params.price_min is not None and params.price_max is not None \
            and params.price_min > params.price_max:
        params.price_min, params.price_max = params.price_max, params.price_min
        result.prices_swapped = True
    params.in_stock = bool(request.in_stock)
    if request.rating is not None and 1 <= request.rating <= 5:
        params.rating_min = request.rating
    params.sort = request.sort if request.sort in SORTS else (
        "relevance" if params.q else "newest")
    page = request.page
    params.page = page if page is not None and 1 <= page <= MAX_PAGE else 1
    return result
