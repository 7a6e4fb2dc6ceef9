"""conversations a review meeting's record refers to

Revision ID: 0015_safety
Revises: 0014_oidc
Create Date: 2026-12-07 14:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_safety'
down_revision = '0014_oidc'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'meeting_conversations',
        sa.Column('meeting_id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['conversation_id'], ['conversations.id'],
            name=op.f('fk_meeting_conversations_conversation_id_conversations'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['meeting_id'], ['review_meetings.id'],
            name=op.f('fk_meeting_conversations_meeting_id_review_meetings'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint(
            'meeting_id', 'conversation_id', name=op.f('pk_meeting_conversations')
        ),
    )
    op.create_index(
        op.f('ix_meeting_conversations_conversation_id'),
        'meeting_conversations',
        ['conversation_id'],
        unique=False,
    )


def downgrade():
    op.drop_index(
        op.f('ix_meeting_conversations_conversation_id'), table_name='meeting_conversations'
    )
    op.drop_table('meeting_conversations')
