"""Invoices: numbers unique platform-wide (the issuer's code in the number), the DPP
fraction stored on the row.

Before, every store numbered `INV/2026/000001`, `INV/2026/000002`, ... and the maklon
company `INV/MK/2026/000001`: the same number stood for several invoices. Every existing
row is renumbered from what identifies it already (issuer, year, sequence), so each store
and the maklon company keep their gapless sequences and the new unique constraint holds:

    store:12 2026 #1   INV/2026/000001     -> INV/TK12/2026/000001
    maklon   2026 #7   INV/MK/2026/000007  -> INV/MAKLON/2026/000007

A PDF issued before keeps the number it printed; it is still found and verified by its
verification code and SHA-256. The counters are unchanged (the next number of an issuer
follows its last). `downgrade` restores the old format and drops the constraint.

Revision ID: 0011_invoices
Revises: 0010_api
Create Date: 2026-12-06 21:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_invoices'
down_revision = '0010_api'
branch_labels = None
depends_on = None

invoices = sa.table(
    'invoices',
    sa.column('id', sa.Integer()), sa.column('issuer', sa.String()),
    sa.column('year', sa.Integer()), sa.column('sequence', sa.Integer()),
    sa.column('number', sa.String()))


def _code(issuer):
    """Like app.payments.invoices.issuer_code, frozen here (a migration must not change
    when the app does)."""
    if issuer == 'maklon':
        return 'MAKLON'
    kind, _, ident = issuer.partition(':')
    if kind == 'store' and ident.isdigit():
        return f'TK{int(ident)}'
    raise RuntimeError(f'invoice issuer {issuer!r} has no code: cannot renumber')


def _old(issuer, year, sequence):
    prefix = 'INV/MK' if issuer == 'maklon' else 'INV'
    return f'{prefix}/{year}/{sequence:06d}'


def _renumber(number_of):
    connection = op.get_bind()
    rows = connection.execute(sa.select(invoices.c.id, invoices.c.issuer, invoices.c.year,
                                        invoices.c.sequence)).all()
    for row in rows:
        connection.execute(invoices.update().where(invoices.c.id == row.id).values(
            number=number_of(row.issuer, row.year, row.sequence)))


def upgrade():
    _renumber(lambda issuer, year, sequence: f'INV/{_code(issuer)}/{year}/{sequence:06d}')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dpp_fraction', sa.String(length=20), server_default='',
                                      nullable=False))
        batch_op.create_unique_constraint('uq_invoices_number', ['number'])


def downgrade():
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_constraint('uq_invoices_number', type_='unique')
        batch_op.drop_column('dpp_fraction')
    _renumber(_old)
