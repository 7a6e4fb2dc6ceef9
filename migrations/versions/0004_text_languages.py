"""text languages: survey comments and the words a patient gives for a carer keep their language

Revision ID: 0004_text_languages
Revises: 0003_monthly_summaries
Create Date: 2026-12-06 19:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_text_languages'
down_revision = '0003_monthly_summaries'
branch_labels = None
depends_on = None

TABLES = ('survey_responses', 'access_grants')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('language', sa.String(length=10), nullable=True))


def downgrade():
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('language')
