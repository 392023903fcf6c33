"""Near-duplicate text by MinHash/LSH: each suspicious-or-worse message's signature (text_minhash)
and LSH band hashes (minhash_bands, indexed), and how a campaign near-duplicate edge was found
(campaign_near.method, .similarity).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_FK = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('text_minhash',
    sa.Column('message', _FK, sa.ForeignKey('messages.id', ondelete='CASCADE'), nullable=False),
    sa.Column('shingles', sa.Integer(), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('message'))
    op.create_table('minhash_bands',
    sa.Column('message', _FK, sa.ForeignKey('messages.id', ondelete='CASCADE'), nullable=False),
    sa.Column('band', sa.SmallInteger(), nullable=False),
    sa.Column('hash', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('message', 'band'))
    op.create_index('ix_minhash_bands_hash', 'minhash_bands', ['hash', 'message'])
    with op.batch_alter_table('campaign_near') as batch:
        batch.add_column(sa.Column('method', sa.String(length=8), nullable=False, server_default='tlsh'))
        batch.add_column(sa.Column('similarity', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('campaign_near') as batch:
        batch.drop_column('similarity')
        batch.drop_column('method')
    op.drop_index('ix_minhash_bands_hash', table_name='minhash_bands')
    op.drop_table('minhash_bands')
    op.drop_table('text_minhash')
