"""sign-in identities (an account's NHS login or CIS2 subject) and CIS2 role mappings

Revision ID: 0014_oidc
Revises: 0013_worklist
Create Date: 2026-12-07 12:15:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portal.models.base import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0014_oidc'
down_revision = '0013_worklist'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sign_in_identities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('provider', sa.String(length=20), nullable=False),
        sa.Column('subject', sa.String(length=255), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "provider IN ('nhs_login', 'cis2')", name=op.f('ck_sign_in_identities_provider')
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_sign_in_identities_user_id_users'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_identities')),
        sa.UniqueConstraint('provider', 'subject', name=op.f('uq_sign_in_identities_subject')),
        sa.UniqueConstraint('user_id', 'provider', name=op.f('uq_sign_in_identities_user')),
    )
    op.create_table(
        'cis2_role_mappings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('role_code', sa.String(length=10), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "role IN ('patient', 'carer', 'professional', 'commissioner', 'admin', 'practice_admin')",
            name=op.f('ck_cis2_role_mappings_role'),
        ),
        sa.ForeignKeyConstraint(
            ['organisation_id'], ['organisations.id'],
            name=op.f('fk_cis2_role_mappings_organisation_id_organisations'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cis2_role_mappings')),
        sa.UniqueConstraint(
            'organisation_id', 'role_code', name=op.f('uq_cis2_role_mappings_organisation_id')
        ),
    )


def downgrade():
    op.drop_table('cis2_role_mappings')
    op.drop_table('sign_in_identities')
