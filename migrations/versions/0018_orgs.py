"""organisations of every kind, staff in several organisations, care team memberships with
access, emergency access for urgent care, and the organisation named on audit events

Revision ID: 0018_orgs
Revises: 0017_fhir
Create Date: 2026-12-07 14:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portal.models.base import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0018_orgs'
down_revision = '0017_fhir'
branch_labels = None
depends_on = None

KINDS = (
    "'gp_practice', 'community_health', 'hospital', 'mental_health', 'social_care', "
    "'hospice', 'voluntary', 'urgent_care'"
)


def upgrade():
    with op.batch_alter_table('organisations') as batch:
        batch.add_column(
            sa.Column('kind', sa.String(length=20), server_default='gp_practice', nullable=False)
        )
        batch.create_check_constraint('kind', f"kind IN ({KINDS})")
    with op.batch_alter_table('patients') as batch:
        batch.add_column(
            sa.Column('emergency_access', sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    with op.batch_alter_table('audit_events') as batch:
        batch.add_column(sa.Column('organisation_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f('fk_audit_events_organisation_id_organisations'),
            'organisations', ['organisation_id'], ['id'],
        )
    op.create_table(
        'staff_memberships',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('left_at', UTCDateTime(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['organisation_id'], ['organisations.id'],
            name=op.f('fk_staff_memberships_organisation_id_organisations'),
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_staff_memberships_user_id_users'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_memberships')),
    )
    op.create_index(
        op.f('ix_staff_memberships_organisation_id'), 'staff_memberships', ['organisation_id']
    )
    op.create_index(op.f('ix_staff_memberships_user_id'), 'staff_memberships', ['user_id'])
    op.create_table(
        'care_team_memberships',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('professional_id', sa.Integer(), nullable=True),
        sa.Column('scope', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=True),
        sa.Column('proposed_by_id', sa.Integer(), nullable=True),
        sa.Column('agreed_at', UTCDateTime(), nullable=True),
        sa.Column('agreed_by_id', sa.Integer(), nullable=True),
        sa.Column('consent_method', sa.String(length=20), nullable=True),
        sa.Column('ended_at', UTCDateTime(), nullable=True),
        sa.Column('ended_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "scope IN ('crisis', 'view', 'contribute')",
            name=op.f('ck_care_team_memberships_scope'),
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'active', 'ended')",
            name=op.f('ck_care_team_memberships_status'),
        ),
        sa.CheckConstraint(
            "consent_method IN ('online', 'in_person', 'paper')",
            name=op.f('ck_care_team_memberships_consent_method'),
        ),
        sa.ForeignKeyConstraint(
            ['agreed_by_id'], ['users.id'],
            name=op.f('fk_care_team_memberships_agreed_by_id_users'),
        ),
        sa.ForeignKeyConstraint(
            ['ended_by_id'], ['users.id'],
            name=op.f('fk_care_team_memberships_ended_by_id_users'),
        ),
        sa.ForeignKeyConstraint(
            ['organisation_id'], ['organisations.id'],
            name=op.f('fk_care_team_memberships_organisation_id_organisations'),
        ),
        sa.ForeignKeyConstraint(
            ['patient_id'], ['patients.id'],
            name=op.f('fk_care_team_memberships_patient_id_patients'),
        ),
        sa.ForeignKeyConstraint(
            ['professional_id'], ['users.id'],
            name=op.f('fk_care_team_memberships_professional_id_users'),
        ),
        sa.ForeignKeyConstraint(
            ['proposed_by_id'], ['users.id'],
            name=op.f('fk_care_team_memberships_proposed_by_id_users'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_care_team_memberships')),
    )
    op.create_index(
        op.f('ix_care_team_memberships_patient_id'), 'care_team_memberships', ['patient_id']
    )
    op.create_index(
        'ix_care_team_memberships_org_status',
        'care_team_memberships',
        ['organisation_id', 'status'],
    )
    op.create_table(
        'emergency_accesses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('clinician_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=30), nullable=False),
        sa.Column('reason_text', sa.String(length=200), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "reason IN ('called_to_attend', 'call_about_patient', 'cannot_communicate', 'other')",
            name=op.f('ck_emergency_accesses_reason'),
        ),
        sa.ForeignKeyConstraint(
            ['clinician_id'], ['users.id'], name=op.f('fk_emergency_accesses_clinician_id_users'),
        ),
        sa.ForeignKeyConstraint(
            ['organisation_id'], ['organisations.id'],
            name=op.f('fk_emergency_accesses_organisation_id_organisations'),
        ),
        sa.ForeignKeyConstraint(
            ['patient_id'], ['patients.id'], name=op.f('fk_emergency_accesses_patient_id_patients'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_emergency_accesses')),
    )
    op.create_index(
        'ix_emergency_accesses_patient_clinician',
        'emergency_accesses',
        ['patient_id', 'clinician_id'],
    )


def downgrade():
    op.drop_index('ix_emergency_accesses_patient_clinician', table_name='emergency_accesses')
    op.drop_table('emergency_accesses')
    op.drop_index('ix_care_team_memberships_org_status', table_name='care_team_memberships')
    op.drop_index(op.f('ix_care_team_memberships_patient_id'), table_name='care_team_memberships')
    op.drop_table('care_team_memberships')
    op.drop_index(op.f('ix_staff_memberships_user_id'), table_name='staff_memberships')
    op.drop_index(op.f('ix_staff_memberships_organisation_id'), table_name='staff_memberships')
    op.drop_table('staff_memberships')
    with op.batch_alter_table('audit_events') as batch:
        batch.drop_constraint(
            op.f('fk_audit_events_organisation_id_organisations'), type_='foreignkey'
        )
        batch.drop_column('organisation_id')
    with op.batch_alter_table('patients') as batch:
        batch.drop_column('emergency_access')
    with op.batch_alter_table('organisations') as batch:
        batch.drop_constraint(op.f('ck_organisations_kind'), type_='check')
        batch.drop_column('kind')
