"""fhir import links: what each imported resource became, so importing again changes nothing

Revision ID: 0010_fhir
Revises: 0009_i18n
Create Date: 2026-12-07 11:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portal.models.base import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0010_fhir'
down_revision = '0009_i18n'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'fhir_import_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('system', sa.String(length=250), nullable=False),
        sa.Column('value', sa.String(length=250), nullable=False),
        sa.Column('item_kind', sa.String(length=30), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=True),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('imported_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['plan_id'], ['care_plans.id'],
            name=op.f('fk_fhir_import_links_plan_id_care_plans'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_fhir_import_links')),
        sa.UniqueConstraint('plan_id', 'system', 'value', name=op.f('uq_fhir_import_links_plan_id')),
    )


def downgrade():
    op.drop_table('fhir_import_links')
