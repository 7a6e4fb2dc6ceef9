"""monthly summaries: stored counts of the commissioner's report, one set per closed month

Revision ID: 0003_monthly_summaries
Revises: 0002_contingency
Create Date: 2026-11-23 19:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.models.base


# revision identifiers, used by Alembic.
revision = '0003_monthly_summaries'
down_revision = '0002_contingency'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('monthly_summaries',
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('calculated_at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('new_patients_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('month', name=op.f('pk_monthly_summaries'))
    )
    op.create_table('monthly_summary_cells',
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('dimension', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.Column('compliant', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['month'], ['monthly_summaries.month'], name=op.f('fk_monthly_summary_cells_month_monthly_summaries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_monthly_summary_cells_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('month', 'organisation_id', 'dimension', 'key', name=op.f('pk_monthly_summary_cells'))
    )


def downgrade():
    op.drop_table('monthly_summary_cells')
    op.drop_table('monthly_summaries')
