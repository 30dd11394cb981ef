"""(being written: the admin ledger)"""

from app.core.security import role_required
from app.payments.routes import bp


@bp.route("/admin/pembayaran")
@role_required("admin")
def ledger():
    return ""
