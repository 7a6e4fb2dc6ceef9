"""safety: who reviewed the crisis plan

Revision ID: 0005_safety
Revises: 0004_text_languages
Create Date: 2026-12-07 11:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_safety'
down_revision = '0004_text_languages'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('care_plans') as batch:
        batch.add_column(sa.Column('contingency_reviewed_by_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f('fk_care_plans_contingency_reviewed_by_id_users'),
            'users', ['contingency_reviewed_by_id'], ['id'],
        )


def downgrade():
    with op.batch_alter_table('care_plans') as batch:
        batch.drop_constraint(
            batch.f('fk_care_plans_contingency_reviewed_by_id_users'), type_='foreignkey'
        )
        batch.drop_column('contingency_reviewed_by_id')
