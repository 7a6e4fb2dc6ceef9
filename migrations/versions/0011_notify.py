"""notify: the notification outbox and each person's channel per kind of message

Revision ID: 0011_notify
Revises: 0010_fhir
Create Date: 2026-12-07 11:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portal.models.base import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0011_notify'
down_revision = '0010_fhir'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('idempotency_key', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('patient_id', sa.Integer(), nullable=True),
        sa.Column('address', sa.String(length=254), nullable=False),
        sa.Column('locale', sa.String(length=10), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', UTCDateTime(), nullable=True),
        sa.Column('claimed_at', UTCDateTime(), nullable=True),
        sa.Column('sent_at', UTCDateTime(), nullable=True),
        sa.Column('last_error', sa.String(length=200), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_notifications_patient_id_patients')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
        sa.UniqueConstraint('idempotency_key', name=op.f('uq_notifications_idempotency_key')),
    )
    with op.batch_alter_table('notifications') as batch:
        batch.create_index('ix_notifications_due', ['status', 'next_attempt_at'], unique=False)
        batch.create_index(batch.f('ix_notifications_patient_id'), ['patient_id'], unique=False)
        batch.create_index(batch.f('ix_notifications_user_id'), ['user_id'], unique=False)

    op.create_table(
        'notification_preferences',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_preferences_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_preferences')),
        sa.UniqueConstraint('user_id', 'kind', name=op.f('uq_notification_preferences_user_id')),
    )
    with op.batch_alter_table('notification_preferences') as batch:
        batch.create_index(batch.f('ix_notification_preferences_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('notification_preferences') as batch:
        batch.drop_index(batch.f('ix_notification_preferences_user_id'))
    op.drop_table('notification_preferences')
    with op.batch_alter_table('notifications') as batch:
        batch.drop_index(batch.f('ix_notifications_user_id'))
        batch.drop_index(batch.f('ix_notifications_patient_id'))
        batch.drop_index('ix_notifications_due')
    op.drop_table('notifications')
