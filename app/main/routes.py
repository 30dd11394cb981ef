"""Main blueprint.

URL table:
    GET /    home page (what the visitor can do, by role)
"""

from __future__ import annotations

from flask import Blueprint, render_template

from app.core.cache import public_page

bp = Blueprint("main", __name__)


@bp.route("/")
@public_page
def index():
    return render_template("main/index.html")
