"""Backups stored separately: each archive's off-site copy (rclone to BACKUP_REMOTE).

Revision ID: 0013_cache_backup
Revises: 0012_ops
Create Date: 2026-12-07 01:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_cache_backup'
down_revision = '0012_ops'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('backup_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offsite_status', sa.String(length=20), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('offsite_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('offsite_remote', sa.String(length=300), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('offsite_size', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('offsite_error', sa.Text(), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('offsite_removed_at', sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('backup_records', schema=None) as batch_op:
        for name in ('offsite_removed_at', 'offsite_error', 'offsite_size', 'offsite_remote',
                     'offsite_at', 'offsite_status'):
            batch_op.drop_column(name)
