"""Initial schema: messages and their side tables (recipients, findings, hosts, claims,
attachments), partitions (resume state) and runs.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('sources', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('stats', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('locator', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.Text(), nullable=True),
    sa.Column('date', sa.Text(), nullable=True),
    sa.Column('date_utc', sa.DateTime(timezone=True), nullable=True),
    sa.Column('from_addr', sa.Text(), nullable=True),
    sa.Column('from_name', sa.Text(), nullable=True),
    sa.Column('from_domain', sa.Text(), nullable=True),
    sa.Column('sender_addr', sa.Text(), nullable=True),
    sa.Column('reply_to', sa.Text(), nullable=True),
    sa.Column('return_path', sa.Text(), nullable=True),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('origin_ip', sa.String(length=64), nullable=True),
    sa.Column('text_fingerprint', sa.Text(), nullable=True),
    sa.Column('html_fingerprint', sa.Text(), nullable=True),
    sa.Column('report', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'locator', 'sha256', name='uq_messages_identity')
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_from_domain', ['from_domain'], unique=False)
        batch_op.create_index('ix_messages_message_id', ['message_id'], unique=False)
        batch_op.create_index('ix_messages_sha256', ['sha256'], unique=False)
        batch_op.create_index('ix_messages_text_fingerprint', ['text_fingerprint'], unique=False)
        batch_op.create_index('ix_messages_verdict', ['verdict'], unique=False)

    op.create_table('partitions',
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('fingerprint', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ),
    sa.PrimaryKeyConstraint('source', 'key')
    )
    op.create_table('attachments',
    sa.Column('message', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.Text(), nullable=True),
    sa.Column('content_type', sa.Text(), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['message'], ['messages.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message', 'sha256')
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index('ix_attachments_sha256', ['sha256'], unique=False)

    op.create_table('claims',
    sa.Column('message', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entity', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['message'], ['messages.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message', 'entity')
    )
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.create_index('ix_claims_entity', ['entity'], unique=False)

    op.create_table('findings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('message', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('symbol', sa.String(length=64), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.Column('group', sa.String(length=32), nullable=True),
    sa.Column('nested', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['message'], ['messages.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index('ix_findings_message', ['message'], unique=False)
        batch_op.create_index('ix_findings_symbol', ['symbol'], unique=False)

    op.create_table('hosts',
    sa.Column('message', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('host', sa.Text(), nullable=False),
    sa.Column('domain', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['message'], ['messages.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message', 'role', 'host')
    )
    with op.batch_alter_table('hosts', schema=None) as batch_op:
        batch_op.create_index('ix_hosts_domain', ['domain'], unique=False)
        batch_op.create_index('ix_hosts_host', ['host'], unique=False)

    op.create_table('recipients',
    sa.Column('message', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['message'], ['messages.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message', 'kind', 'address')
    )
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.create_index('ix_recipients_address', ['address'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.drop_index('ix_recipients_address')

    op.drop_table('recipients')
    with op.batch_alter_table('hosts', schema=None) as batch_op:
        batch_op.drop_index('ix_hosts_host')
        batch_op.drop_index('ix_hosts_domain')

    op.drop_table('hosts')
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index('ix_findings_symbol')
        batch_op.drop_index('ix_findings_message')

    op.drop_table('findings')
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index('ix_claims_entity')

    op.drop_table('claims')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index('ix_attachments_sha256')

    op.drop_table('attachments')
    op.drop_table('partitions')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_verdict')
        batch_op.drop_index('ix_messages_text_fingerprint')
        batch_op.drop_index('ix_messages_sha256')
        batch_op.drop_index('ix_messages_message_id')
        batch_op.drop_index('ix_messages_from_domain')

    op.drop_table('messages')
    op.drop_table('runs')
