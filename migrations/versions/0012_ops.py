"""Operations: the outbox remembers which job claimed a row (re-runs take it back).

Revision ID: 0012_ops
Revises: 0011_invoices
Create Date: 2026-12-06 21:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_ops'
down_revision = '0011_invoices'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('email_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=80), nullable=True))


def downgrade():
    with op.batch_alter_table('email_outbox', schema=None) as batch_op:
        batch_op.drop_column('claimed_by')
