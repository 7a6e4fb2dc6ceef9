"""contingency: pending removals of crisis steps and contacts

Revision ID: 0002_contingency
Revises: 0001
Create Date: 2026-11-24 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_contingency'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('crisis_steps', 'contacts'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column('removal_proposed', sa.Boolean(), server_default=sa.false(), nullable=False)
            )


def downgrade():
    for table in ('contacts', 'crisis_steps'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('removal_proposed')
