"""resilience: care team members carry a version, so concurrent edits are caught, not lost

Revision ID: 0007_resilience
Revises: 0006_conversations
Create Date: 2026-12-07 11:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_resilience'
down_revision = '0006_conversations'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('care_team_members') as batch:
        batch.add_column(
            sa.Column('version', sa.Integer(), server_default='1', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('care_team_members') as batch:
        batch.drop_column('version')
