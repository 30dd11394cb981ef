"""Shipping: the rate table, the couriers a store offers, an order's shipment and its
tracking events; variants get a weight (250 g for the rows there are).

Revision ID: 0015_ship
Revises: 0014_crm_events
Create Date: 2026-12-07 00:28:11.312557

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_ship'
down_revision = '0014_crm_events'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('shipping_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=30), nullable=False),
    sa.Column('origin_zone', sa.String(length=20), nullable=False),
    sa.Column('dest_zone', sa.String(length=20), nullable=False),
    sa.Column('price_per_kg', sa.BigInteger(), nullable=False),
    sa.Column('etd_min', sa.SmallInteger(), nullable=False),
    sa.Column('etd_max', sa.SmallInteger(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('etd_min >= 0 AND etd_max >= etd_min', name=op.f('ck_shipping_rates_etd_range')),
    sa.CheckConstraint('price_per_kg > 0', name=op.f('ck_shipping_rates_price_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipping_rates')),
    sa.UniqueConstraint('service', 'origin_zone', 'dest_zone', name='uq_shipping_rates_route')
    )
    op.create_table('store_couriers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=30), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_store_couriers_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_store_couriers')),
    sa.UniqueConstraint('store_id', 'service', name='uq_store_couriers')
    )
    with op.batch_alter_table('store_couriers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_store_couriers_store_id'), ['store_id'], unique=False)

    op.create_table('shipment_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('location', sa.String(length=120), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_shipment_events_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment_events')),
    sa.UniqueConstraint('order_id', 'occurred_at', 'description', name='uq_shipment_events_line')
    )
    with op.batch_alter_table('shipment_events', schema=None) as batch_op:
        batch_op.create_index('ix_shipment_events_order_time', ['order_id', 'occurred_at'], unique=False)

    op.create_table('shipments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=30), nullable=False),
    sa.Column('weight_grams', sa.Integer(), nullable=False),
    sa.Column('cost', sa.BigInteger(), nullable=False),
    sa.Column('etd', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('tracked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_shipments_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipments')),
    sa.UniqueConstraint('order_id', name=op.f('uq_shipments_order_id'))
    )
    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('weight_grams', sa.Integer(), server_default='250', nullable=False))



def downgrade():
    with op.batch_alter_table('variants', schema=None) as batch_op:
        batch_op.drop_column('weight_grams')

    op.drop_table('shipments')
    with op.batch_alter_table('shipment_events', schema=None) as batch_op:
        batch_op.drop_index('ix_shipment_events_order_time')

    op.drop_table('shipment_events')
    with op.batch_alter_table('store_couriers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_store_couriers_store_id'))

    op.drop_table('store_couriers')
    op.drop_table('shipping_rates')
