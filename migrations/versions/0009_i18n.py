"""invitation language: a carer's invitation is written in the language the patient chose

Revision ID: 0009_i18n
Revises: 0008_safety
Create Date: 2026-12-07 11:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_i18n'
down_revision = '0008_safety'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('access_grants') as batch:
        batch.add_column(sa.Column('invitation_language', sa.String(length=10), nullable=True))


def downgrade():
    with op.batch_alter_table('access_grants') as batch:
        batch.drop_column('invitation_language')
