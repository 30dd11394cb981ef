"""Dashboards.

URL table:
    GET  /maklon/dasbor   client: their company's active maklon orders (stage progress),
                          unpaid milestones with pay links, outstanding balance, invoices,
                          on-time delivery rate
    GET  /admin/dasbor    admin: GMV, orders by status, new users, maklon pipeline,
                          payments pending/settled, failed jobs, last backup, overall OTDR
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.accounts.models import RoleName
from app.backups.models import BackupStatus
from app.backups.offsite import last_offsite, offsite_remote
from app.core.http import render_page
from app.core.security import role_required
from app.maklon.labels import MILESTONE_LABELS, REQUEST_STATUS_LABELS, STAGE_LABELS
from app.maklon.models import Stage
from app.maklon.otdr import otdr_latest
from app.maklon.stages import stage_position
from app.orders.lifecycle import ORDER_STATUS_LABELS
from app.orders.models import OrderStatus
from app.reports.dashboards import ClientDashboard, admin_dashboard, client_dashboard
from app.reports.routes import bp

BACKUP_STATUS_LABELS: dict[str, Any] = {
    BackupStatus.CREATED: _l("Belum diverifikasi"),
    BackupStatus.VERIFIED: _l("Terverifikasi"),
    BackupStatus.FAILED: _l("Verifikasi gagal"),
}


@bp.route("/maklon/dasbor")
@role_required(RoleName.CLIENT)
def client_dashboard_page():
    company_id = current_user.company_id
    figures = client_dashboard(company_id) if company_id else ClientDashboard()
    return render_page(
        "reports/client_dashboard.html", figures=figures,
        otdr=otdr_latest(company_id) if company_id else None, has_company=bool(company_id),
        stage_labels=STAGE_LABELS, stage_order=Stage.ALL, stage_position=stage_position,
        milestone_labels=MILESTONE_LABELS)


@bp.route("/admin/dasbor")
@role_required(RoleName.ADMIN)
def admin_dashboard_page():
    return render_page(
        "reports/admin_dashboard.html", figures=admin_dashboard(), otdr=otdr_latest(None),
        stage_labels=STAGE_LABELS, request_status_labels=REQUEST_STATUS_LABELS,
        order_statuses=OrderStatus.ALL, order_status_labels=ORDER_STATUS_LABELS,
        backup_status_labels=BACKUP_STATUS_LABELS, offsite=last_offsite(),
        remote=offsite_remote())
