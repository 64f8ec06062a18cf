"""initial schema: realms, accounts, subscriptions, ledger, tokens, audit, outbox

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-26 05:45:21.142384
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=False),
    sa.Column('object_id', sa.String(length=300), nullable=False),
    sa.Column('realm', sa.String(length=64), nullable=True),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit'))
    )
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.create_index('ix_audit_realm_id', ['realm', 'id'], unique=False)

    op.create_table('idempotency',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('token_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency')),
    sa.UniqueConstraint('token_id', 'key', name='uq_idempotency_token_key')
    )
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('realm', sa.String(length=64), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    op.create_table('realms',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('domains', sa.JSON(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('tax_name', sa.String(length=32), nullable=False),
    sa.Column('tax_rate', sa.String(length=40), nullable=False),
    sa.Column('invoice_format', sa.String(length=128), nullable=False),
    sa.Column('email_delivery', sa.Boolean(), nullable=False),
    sa.Column('auth_mode', sa.String(length=8), nullable=False),
    sa.Column('auth_settings', sa.JSON(), nullable=False),
    sa.Column('allow_chap', sa.Boolean(), nullable=False),
    sa.Column('allow_mschap', sa.Boolean(), nullable=False),
    sa.Column('logo_path', sa.String(length=512), nullable=True),
    sa.Column('colour_primary', sa.String(length=7), nullable=True),
    sa.Column('colour_accent', sa.String(length=7), nullable=True),
    sa.Column('watermark', sa.String(length=128), nullable=True),
    sa.Column('footer', sa.Text(), nullable=True),
    sa.Column('owner_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_realms'))
    )
    op.create_table('accounts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('realm', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=253), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('contact_name', sa.String(length=200), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('cycle_day', sa.Integer(), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('nt_hash', sa.String(length=32), nullable=True),
    sa.Column('cleartext', sa.String(length=253), nullable=True),
    sa.Column('simultaneous_use', sa.Integer(), nullable=True),
    sa.Column('static_ip', sa.String(length=45), nullable=True),
    sa.Column('pool', sa.String(length=64), nullable=True),
    sa.Column('reply', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['realm'], ['realms.name'], name=op.f('fk_accounts_realm_realms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('realm', 'username', name='uq_accounts_realm_username')
    )
    op.create_table('tokens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('realm', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['realm'], ['realms.name'], name=op.f('fk_tokens_realm_realms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_tokens_token_hash'))
    )
    op.create_table('ledger',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('realm', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('amount', sa.String(length=40), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('reference', sa.String(length=128), nullable=True),
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_ledger_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger'))
    )
    with op.batch_alter_table('ledger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_account_id'), ['account_id'], unique=False)

    op.create_table('subscriptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('plan', sa.String(length=128), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'],
                            name=op.f('fk_subscriptions_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions'))
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriptions_account_id'), ['account_id'], unique=False)

    # The default realm exists from the start: the provider's own subscribers live here.
    now = datetime.now(UTC).replace(tzinfo=None)
    realms = sa.table(
        "realms",
        *(sa.column(c, sa.JSON()) for c in ("domains", "auth_settings")),
        *(sa.column(c, sa.Boolean()) for c in ("email_delivery", "allow_chap", "allow_mschap")),
        *(sa.column(c, sa.DateTime()) for c in ("created_at", "updated_at")),
        *(sa.column(c, sa.String()) for c in ("name", "currency", "tax_name", "tax_rate", "invoice_format",
                                               "auth_mode")),
    )
    op.bulk_insert(realms, [{
        "name": "default", "domains": [], "currency": "EUR", "tax_name": "VAT", "tax_rate": "0",
        "invoice_format": "INV-{realm}-{yyyy}-{seq:06}", "email_delivery": True, "auth_mode": "local",
        "auth_settings": {}, "allow_chap": False, "allow_mschap": True, "created_at": now, "updated_at": now,
    }])


def downgrade() -> None:
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriptions_account_id'))

    op.drop_table('subscriptions')
    with op.batch_alter_table('ledger', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_account_id'))

    op.drop_table('ledger')
    op.drop_table('tokens')
    op.drop_table('accounts')
    op.drop_table('realms')
    op.drop_table('outbox')
    op.drop_table('idempotency')
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_realm_id')

    op.drop_table('audit')
