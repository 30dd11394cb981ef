"""Which area stylesheets a page links (issue 20, page weight).

`app.css` is the base every page needs (tokens, header, forms, buttons, tables, badges,
helpers); the rest of what was one 50 KB sheet lives in `static/css/area-*.css`, one per
area, in the order the rules had in the single sheet (so the cascade is unchanged). A page
links the base plus the area sheets of its blueprint (`BLUEPRINT_SHEETS`: what the
blueprint's templates, and the partials they include, use), or of its endpoint where a
blueprint's pages differ a lot (`ENDPOINT_SHEETS`: the storefront pages of `catalog` need
none of the seller's or the admin's rules). A blueprint missing from the table links every
area sheet: a new area looks right before it is listed, only heavier.

base.html calls `area_sheets()`; the `ui-*.css` and feature sheets linked through
`{% block head %}` come after these, as before.
"""

from __future__ import annotations

from flask import has_request_context, request

ORDER = ("shop", "seller", "crm", "orders", "admin", "maklon", "reports")

BLUEPRINT_SHEETS: dict[str, tuple[str, ...]] = {
    "accounts": (),
    "admin": ("admin",),
    "api": ("admin",),
    "audit": ("admin",),
    "catalog": ("shop", "seller", "orders", "admin"),
    "core": (),
    "crm": ("crm",),
    "crm_public": ("crm",),
    "inventory": ("seller",),
    "main": ("shop",),
    "maklon": ("maklon",),
    "notifications": (),
    "orders": ("shop", "orders"),
    "payments": ("orders", "admin"),
    "reports": ("admin", "maklon", "reports"),
    "shipping": ("orders", "admin"),
}

ENDPOINT_SHEETS: dict[str, tuple[str, ...]] = {
    "catalog.search": ("shop",),
    "catalog.store": ("shop",),
    "catalog.product": ("shop", "seller", "orders"),  # add to cart, the product layout
    "maklon.milestone_payment": ("orders", "maklon"),  # the payment instructions
}


def sheets_for(blueprint: str | None, endpoint: str | None) -> list[str]:
    """The area sheets (file names under static/css) of a page, in cascade order."""
    if endpoint in ENDPOINT_SHEETS:
        wanted = set(ENDPOINT_SHEETS[endpoint])
    elif blueprint is None:
        wanted = set()  # error pages of unknown URLs: the base is enough
    else:
        wanted = set(BLUEPRINT_SHEETS.get(blueprint, ORDER))
    return [f"css/area-{name}.css" for name in ORDER if name in wanted]


def area_sheets() -> list[str]:
    """The current request's area sheets (none outside a request: emails)."""
    if not has_request_context():
        return []
    return sheets_for(request.blueprint, request.endpoint)
