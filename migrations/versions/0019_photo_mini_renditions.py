"""Mini renditions of product photos: product_images.mini_key and products.cover_mini_key.

A 128 px WebP for the 56-64 px thumbnails (cart, order list, product gallery, the home
page's stores), which downloaded the 240 px card rendition before. The columns start empty
("" = none yet: those thumbnails fall back to the card rendition, then the thumbnail).
Existing photos get theirs from `flask catalog renditions` (idempotent), run once after
this upgrade.

Revision ID: 0019_photo_mini_renditions
Revises: 0018_photo_renditions
Create Date: 2026-12-07 07:45:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0019_photo_mini_renditions"
down_revision = "0018_photo_renditions"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("product_images", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mini_key", sa.String(length=200), server_default="",
                                      nullable=False))
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cover_mini_key", sa.String(length=200),
                                      server_default="", nullable=False))


def downgrade():
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("cover_mini_key")
    with op.batch_alter_table("product_images", schema=None) as batch_op:
        batch_op.drop_column("mini_key")
