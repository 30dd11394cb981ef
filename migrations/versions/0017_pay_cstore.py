"""Retail-outlet payments (Alfamart, Indomaret): the payment code on payments, and the
store and payment code in the sandbox gateway's book.

Revision ID: 0017_pay_cstore
Revises: 0016_crm_records
Create Date: 2026-12-07 00:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0017_pay_cstore"
down_revision = "0016_crm_records"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_code", sa.String(length=40), nullable=False,
                                      server_default=""))
    with op.batch_alter_table("sandbox_transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("store", sa.String(length=20), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("payment_code", sa.String(length=40), nullable=False,
                                      server_default=""))


def downgrade():
    with op.batch_alter_table("sandbox_transactions", schema=None) as batch_op:
        batch_op.drop_column("payment_code")
        batch_op.drop_column("store")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("payment_code")
