"""NHS number trace status on patients; SMART on FHIR clients, authorisation codes and tokens

Revision ID: 0015_fhir
Revises: 0014_oidc
Create Date: 2026-12-07 14:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portal.models.base import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0015_fhir'
down_revision = '0014_oidc'
branch_labels = None
depends_on = None

NHS_NUMBER_STATUSES = (
    "'verified', 'not_traced', 'trace_required', 'no_match', 'needs_resolving', "
    "'in_progress', 'postponed'"
)


def upgrade():
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'nhs_number_status', sa.String(length=20), server_default='not_traced',
                nullable=False,
            )
        )
        batch_op.create_check_constraint(
            'nhs_number_status', f"nhs_number_status IN ({NHS_NUMBER_STATUSES})"
        )


def downgrade():
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_constraint('nhs_number_status', type_='check')
        batch_op.drop_column('nhs_number_status')
