"""safety: who reviewed the crisis plan; who each crisis step calls; contacts' opening hours

Revision ID: 0008_safety
Revises: 0007_resilience
Create Date: 2026-12-07 11:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_safety'
down_revision = '0007_resilience'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('care_plans') as batch:
        batch.add_column(sa.Column('contingency_reviewed_by_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f('fk_care_plans_contingency_reviewed_by_id_users'),
            'users', ['contingency_reviewed_by_id'], ['id'],
        )
    with op.batch_alter_table('contacts') as batch:
        batch.add_column(sa.Column('opens_at', sa.Time(), nullable=True))
        batch.add_column(sa.Column('closes_at', sa.Time(), nullable=True))
        batch.add_column(
            sa.Column('weekdays_only', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table('crisis_steps') as batch:
        batch.add_column(sa.Column('call_service', sa.String(length=10), nullable=True))
        batch.add_column(sa.Column('call_contact_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f('fk_crisis_steps_call_contact_id_contacts'),
            'contacts', ['call_contact_id'], ['id'], ondelete='SET NULL',
        )


def downgrade():
    with op.batch_alter_table('crisis_steps') as batch:
        batch.drop_constraint(
            batch.f('fk_crisis_steps_call_contact_id_contacts'), type_='foreignkey'
        )
        batch.drop_column('call_contact_id')
        batch.drop_column('call_service')
    with op.batch_alter_table('contacts') as batch:
        batch.drop_column('weekdays_only')
        batch.drop_column('closes_at')
        batch.drop_column('opens_at')
    with op.batch_alter_table('care_plans') as batch:
        batch.drop_constraint(
            batch.f('fk_care_plans_contingency_reviewed_by_id_users'), type_='foreignkey'
        )
        batch.drop_column('contingency_reviewed_by_id')
