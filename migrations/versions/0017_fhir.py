"""NHS number trace status; SMART on FHIR clients, codes and tokens; imported conditions proposed

Revision ID: 0017_fhir
Revises: 0016_clinician
Create Date: 2026-12-07 14:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portal.models.base import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0017_fhir'
down_revision = '0016_clinician'
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
    op.create_table('smart_clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('scope', sa.String(length=500), nullable=False),
    sa.Column('jwks', sa.Text(), nullable=True),
    sa.Column('redirect_uris', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('registered_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('system', 'app')", name=op.f('ck_smart_clients_kind')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_smart_clients_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['registered_by_id'], ['users.id'], name=op.f('fk_smart_clients_registered_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_smart_clients')),
    sa.UniqueConstraint('client_id', name=op.f('uq_smart_clients_client_id'))
    )
    op.create_table('smart_assertions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('jti', sa.String(length=255), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['smart_clients.id'], name=op.f('fk_smart_assertions_client_id_smart_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_smart_assertions')),
    sa.UniqueConstraint('client_id', 'jti', name='uq_smart_assertions_jti')
    )
    op.create_table('smart_authorisation_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('redirect_uri', sa.Text(), nullable=False),
    sa.Column('scope', sa.String(length=500), nullable=False),
    sa.Column('code_challenge', sa.String(length=128), nullable=False),
    sa.Column('code_challenge_method', sa.String(length=10), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['smart_clients.id'], name=op.f('fk_smart_authorisation_codes_client_id_smart_clients')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_smart_authorisation_codes_patient_id_patients')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_smart_authorisation_codes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_smart_authorisation_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_smart_authorisation_codes_code_hash'))
    )
    with op.batch_alter_table('smart_authorisation_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_smart_authorisation_codes_client_id'), ['client_id'], unique=False)

    op.create_table('smart_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('scope', sa.String(length=500), nullable=False),
    sa.Column('issued_at', UTCDateTime(), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=False),
    sa.Column('revoked_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['smart_clients.id'], name=op.f('fk_smart_tokens_client_id_smart_clients')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_smart_tokens_patient_id_patients')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_smart_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_smart_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_smart_tokens_token_hash'))
    )
    with op.batch_alter_table('smart_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_smart_tokens_client_id'), ['client_id'], unique=False)
    op.create_table('condition_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('condition_code', sa.String(length=18), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint("status IN ('proposed', 'accepted', 'declined')", name=op.f('ck_condition_proposals_status')),
    sa.ForeignKeyConstraint(['condition_code'], ['conditions.code'], name=op.f('fk_condition_proposals_condition_code_conditions')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_condition_proposals_decided_by_id_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_condition_proposals_patient_id_patients')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'], name=op.f('fk_condition_proposals_proposed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_condition_proposals'))
    )
    with op.batch_alter_table('condition_proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_condition_proposals_patient_id'), ['patient_id'], unique=False)



def downgrade():
    with op.batch_alter_table('condition_proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_condition_proposals_patient_id'))

    op.drop_table('condition_proposals')
    with op.batch_alter_table('smart_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_smart_tokens_client_id'))

    op.drop_table('smart_tokens')
    with op.batch_alter_table('smart_authorisation_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_smart_authorisation_codes_client_id'))

    op.drop_table('smart_authorisation_codes')
    op.drop_table('smart_assertions')
    op.drop_table('smart_clients')
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_constraint('nhs_number_status', type_='check')
        batch_op.drop_column('nhs_number_status')
