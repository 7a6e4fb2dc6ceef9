"""conversations with the care team, and each organisation's reply time

Revision ID: 0006_conversations
Revises: 0005_structure
Create Date: 2026-12-07 11:06:57.961875

"""
from alembic import op
import sqlalchemy as sa

import portal.models.base


# revision identifiers, used by Alembic.
revision = '0006_conversations'
down_revision = '0005_structure'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('conversations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=120), nullable=False),
    sa.Column('about_kind', sa.String(length=20), nullable=False),
    sa.Column('about_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('awaiting_reply_since', portal.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_message_at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('handler_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('outcome_language', sa.String(length=10), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', portal.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_conversations_closed_by_id_users')),
    sa.ForeignKeyConstraint(['handler_id'], ['users.id'], name=op.f('fk_conversations_handler_id_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_conversations_patient_id_patients')),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_conversations_started_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations')),
    sa.CheckConstraint("about_kind IN ('none', 'goal', 'section', 'crisis_step', 'result')", name=op.f('ck_conversations_about_kind')),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_conversations_status')),
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index('ix_conversations_inbox', ['status', 'urgent', 'awaiting_reply_since'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversations_patient_id'), ['patient_id'], unique=False)

    op.create_table('conversation_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('written_as', sa.String(length=20), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=True),
    sa.Column('created_at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_conversation_messages_author_id_users')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_conversation_messages_conversation_id_conversations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_messages')),
    sa.CheckConstraint("written_as IN ('patient', 'carer', 'professional')", name=op.f('ck_conversation_messages_written_as')),
    )
    with op.batch_alter_table('conversation_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_messages_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversation_messages_conversation_id'), ['conversation_id'], unique=False)

    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_working_days', sa.Integer(), server_default=sa.text('2'), nullable=False))



def downgrade():
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('reply_working_days')

    with op.batch_alter_table('conversation_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_messages_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_conversation_messages_author_id'))

    op.drop_table('conversation_messages')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversations_patient_id'))
        batch_op.drop_index('ix_conversations_inbox')

    op.drop_table('conversations')
