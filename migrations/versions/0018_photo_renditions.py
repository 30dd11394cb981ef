"""Card renditions of product photos: product_images.card_key and products.cover_card_key.

The columns start empty ("" = no rendition yet: cards fall back to the 400 px thumbnail).
Existing photos get their rendition from `flask catalog renditions` (idempotent; reads and
writes through app/core/storage, so it works on the local disk and on S3, on SQLite and
PostgreSQL), run once after this upgrade.

Revision ID: 0018_photo_renditions
Revises: 0017_pay_cstore
Create Date: 2026-12-07 01:45:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018_photo_renditions"
down_revision = "0017_pay_cstore"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("product_images", schema=None) as batch_op:
        batch_op.add_column(sa.Column("card_key", sa.String(length=200), server_default="",
                                      nullable=False))
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cover_card_key", sa.String(length=200),
                                      server_default="", nullable=False))


def downgrade():
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("cover_card_key")
    with op.batch_alter_table("product_images", schema=None) as batch_op:
        batch_op.drop_column("card_key")
