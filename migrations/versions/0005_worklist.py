"""worklist: indexes for the professional's worklist across a practice of thousands

Revision ID: 0005_worklist
Revises: 0004_text_languages
Create Date: 2026-12-07 11:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_worklist'
down_revision = '0004_text_languages'
branch_labels = None
depends_on = None

# Tables of reviewable content: a partial index of the rows waiting for review in each.
WAITING = ('needs_sections', 'goals', 'wishes', 'crisis_steps', 'usual_states', 'contacts')


def upgrade():
    op.create_index('ix_care_plans_named_contact_id', 'care_plans', ['named_contact_id'])
    for table in WAITING:
        waiting = sa.text('pending_review IS true')
        op.create_index(
            f'ix_{table}_waiting', table, ['plan_id'],
            postgresql_where=waiting, sqlite_where=sa.text('pending_review IS 1'),
        )


def downgrade():
    for table in reversed(WAITING):
        op.drop_index(f'ix_{table}_waiting', table_name=table)
    op.drop_index('ix_care_plans_named_contact_id', table_name='care_plans')
