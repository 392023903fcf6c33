"""Campaigns (issue 11): link keys, near-duplicate edges, campaign membership and summaries.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
_FK = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('campaign_keys',
    sa.Column('message', _FK, sa.ForeignKey('messages.id', ondelete='CASCADE'), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('message', 'kind', 'value'))
    op.create_index('ix_campaign_keys_value', 'campaign_keys', ['kind', 'value'])
    op.create_table('campaign_near',
    sa.Column('a', _FK, sa.ForeignKey('messages.id', ondelete='CASCADE'), nullable=False),
    sa.Column('b', _FK, sa.ForeignKey('messages.id', ondelete='CASCADE'), nullable=False),
    sa.Column('claim', sa.Text(), nullable=False),
    sa.Column('distance', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('a', 'b'))
    op.create_table('campaign_members',
    sa.Column('message', _FK, sa.ForeignKey('messages.id', ondelete='CASCADE'), nullable=False),
    sa.Column('campaign', sa.String(length=40), nullable=True),
    sa.Column('evidence', _JSON, nullable=True),
    sa.PrimaryKeyConstraint('message'))
    op.create_index('ix_campaign_members_campaign', 'campaign_members', ['campaign'])
    op.create_table('campaigns',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('first_seen', sa.String(length=40), nullable=True),
    sa.Column('last_seen', sa.String(length=40), nullable=True),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('threat', sa.Float(), nullable=False),
    sa.Column('summary', _JSON, nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'))


def downgrade() -> None:
    op.drop_table('campaigns')
    op.drop_index('ix_campaign_members_campaign', table_name='campaign_members')
    op.drop_table('campaign_members')
    op.drop_table('campaign_near')
    op.drop_index('ix_campaign_keys_value', table_name='campaign_keys')
    op.drop_table('campaign_keys')
