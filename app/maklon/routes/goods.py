"""Finished goods: the "Hasil produksi" tab of a completed request.

URL table:
    GET   /maklon/<number>/hasil-produksi    the tab: state, and for a client who owns a
                                              store the form (one variant of their store)
    POST  /maklon/<number>/hasil-produksi    move the produced quantity into that variant
                                              (once: a second move is 409; another store's
                                              variant 422; a request not completed 409)

Another company's request is a 404 (`request_or_404`). Only a client may move (403 for
others); the move is audited "maklon.goods_moved".
"""

from __future__ import annotations

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import RoleName
from app.core.forms import parse_int
from app.core.http import render_page, see_other
from app.core.security import role_required
from app.extensions import db
from app.maklon.access import request_or_404
from app.maklon.goods import GoodsError, goods_move, goods_state, goods_tab_visible, goods_variants
from app.maklon.models import MaklonRequest
from app.maklon.routes import bp

VIEWERS = (RoleName.CLIENT, RoleName.STAFF, RoleName.ADMIN)


def _page(req: MaklonRequest, *, error: str | None = None, chosen: str = "",
          status: int = 200):
    return render_page("maklon/goods.html", http_status=status, req=req,
                       can_move=goods_tab_visible(req, current_user),
                       variants=goods_variants(current_user), state=goods_state(req),
                       error=error, chosen=chosen)


@bp.route("/maklon/<number>/hasil-produksi", methods=["GET", "POST"])
@role_required(*VIEWERS)
def goods(number: str):
    req = request_or_404(current_user, number)
    if request.method == "GET":
        return _page(req)
    if not current_user.has_role(RoleName.CLIENT):
        return _page(req, error=_("Hanya klien pemilik pesanan yang dapat memindahkan hasil "
                                  "produksi."), status=403)
    chosen = request.form.get("varian") or ""
    try:
        variant = goods_move(request=req, variant_id=parse_int(chosen), actor=current_user)
        db.session.commit()
    except GoodsError as error:
        db.session.rollback()
        req = request_or_404(current_user, number)
        return _page(req, error=error.message, chosen=chosen, status=error.status)
    flash(_("%(n)s unit masuk ke stok %(sku)s.", n=req.quantity, sku=variant.sku), "success")
    return see_other(url_for("maklon.goods", number=req.number))
