"""CRM records: employee count of companies, family name and birth date of contacts, and
archiving of companies, contacts, leads and tasks.

Revision ID: 0016_crm_records
Revises: 0015_ship
Create Date: 2026-12-07 00:40:00

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = "0016_crm_records"
down_revision = "0015_ship"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("employee_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("crm_contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("family_name", sa.String(length=120), server_default="",
                                      nullable=False))
        batch_op.add_column(sa.Column("birth_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    for table in ("crm_leads", "crm_tasks"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    for table in ("crm_tasks", "crm_leads"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("archived_at")
    with op.batch_alter_table("crm_contacts", schema=None) as batch_op:
        batch_op.drop_column("archived_at")
        batch_op.drop_column("birth_date")
        batch_op.drop_column("family_name")
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.drop_column("archived_at")
        batch_op.drop_column("employee_count")
