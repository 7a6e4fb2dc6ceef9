"""worklist: indexes that carry the professional's worklist across a practice of thousands
(its patients read from one index, the few requests for another named contact, the last offer)

Revision ID: 0023_worklist
Revises: 0022_partition
Create Date: 2026-12-07 18:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0023_worklist"
down_revision = "0022_partition"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_patients_worklist', 'patients', ['organisation_id', 'id'],
        postgresql_include=[
            'family_name', 'given_name', 'care_team_consent', 'initial_assessment_date',
        ],
    )
    op.create_index(
        'ix_care_plans_contact_request', 'care_plans', ['id'],
        postgresql_where=sa.text('named_contact_request IS NOT NULL'),
        sqlite_where=sa.text('named_contact_request IS NOT NULL'),
    )
    op.create_index(
        'ix_plan_offers_latest', 'plan_offers', ['patient_id', 'offered_on', 'id'],
    )


def downgrade():
    op.drop_index('ix_plan_offers_latest', table_name='plan_offers')
    op.drop_index('ix_care_plans_contact_request', table_name='care_plans')
    op.drop_index('ix_patients_worklist', table_name='patients')
