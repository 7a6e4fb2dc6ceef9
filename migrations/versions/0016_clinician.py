"""a section of the plan written by a professional with the patient in clinic

Revision ID: 0016_clinician
Revises: 0015_safety
Create Date: 2026-12-07 14:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_clinician'
down_revision = '0015_safety'
branch_labels = None
depends_on = None

# Every table of content that is proposed between meetings and agreed at the review.
TABLES = ('needs_sections', 'goals', 'wishes', 'crisis_steps', 'usual_states', 'contacts')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(
                sa.Column(
                    'written_with_patient', sa.Boolean(), server_default=sa.false(), nullable=False
                )
            )


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column('written_with_patient')
