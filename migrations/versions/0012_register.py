"""register: a practice's long-term-conditions register, its imports, offers and activation codes

Revision ID: 0012_register
Revises: 0011_notify
Create Date: 2026-12-07 11:47:03.870832

"""
from alembic import op
import sqlalchemy as sa

import portal.models.base


# revision identifiers, used by Alembic.
revision = '0012_register'
down_revision = '0011_notify'
branch_labels = None
depends_on = None


ROLES = ('patient', 'carer', 'professional', 'commissioner', 'admin')
ROLES_WITH_PRACTICE_ADMIN = ROLES + ('practice_admin',)


def _roles(values):
    """The users table's CHECK constraint on role, for the given roles."""
    with op.batch_alter_table('users') as batch:
        batch.drop_constraint(op.f('ck_users_role'), type_='check')
        batch.create_check_constraint(
            op.f('ck_users_role'), f"role IN ({', '.join(repr(v) for v in values)})"
        )


def upgrade():
    _roles(ROLES_WITH_PRACTICE_ADMIN)
    op.create_table('register_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('columns', sa.Text(), nullable=False),
    sa.Column('stored_as', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('problem', sa.Text(), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('new', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('transferred', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('left', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('completed_at', portal.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_register_imports_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_register_imports_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_register_imports'))
    )
    with op.batch_alter_table('register_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_register_imports_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('trajectory_targets',
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('percent', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=True),
    sa.Column('set_at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name=op.f('fk_trajectory_targets_set_by_id_users')),
    sa.PrimaryKeyConstraint('month', name=op.f('pk_trajectory_targets'))
    )
    op.create_table('activation_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('expires_at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', portal.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', portal.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_activation_codes_issued_by_id_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_activation_codes_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activation_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_activation_codes_code_hash'))
    )
    with op.batch_alter_table('activation_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activation_codes_patient_id'), ['patient_id'], unique=False)

    op.create_table('plan_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('offered_on', sa.Date(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('offered_by_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('outcome_on', sa.Date(), nullable=True),
    sa.Column('declined_reason', sa.Text(), nullable=True),
    sa.Column('created_at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['offered_by_id'], ['users.id'], name=op.f('fk_plan_offers_offered_by_id_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_plan_offers_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_plan_offers_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_offers'))
    )
    with op.batch_alter_table('plan_offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_offers_patient_id'), ['patient_id'], unique=False)

    op.create_table('register_entries',
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('registered_on', sa.Date(), nullable=False),
    sa.Column('existing_plan_reviewed_on', sa.Date(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('mobile', sa.String(length=40), nullable=True),
    sa.Column('postcode', sa.String(length=10), nullable=True),
    sa.Column('left_on', sa.Date(), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('added_at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', portal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_register_entries_patient_id_patients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_register_entries'))
    )
    with op.batch_alter_table('register_entries', schema=None) as batch_op:
        batch_op.create_index('ix_register_entries_left_on', ['left_on'], unique=False)

    op.create_table('register_rejections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('cells', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['register_imports.id'], name=op.f('fk_register_rejections_import_id_register_imports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_register_rejections'))
    )
    with op.batch_alter_table('register_rejections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_register_rejections_import_id'), ['import_id'], unique=False)



def downgrade():
    _roles(ROLES)
    with op.batch_alter_table('register_rejections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_register_rejections_import_id'))

    op.drop_table('register_rejections')
    with op.batch_alter_table('register_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_register_entries_left_on')

    op.drop_table('register_entries')
    with op.batch_alter_table('plan_offers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_offers_patient_id'))

    op.drop_table('plan_offers')
    with op.batch_alter_table('activation_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activation_codes_patient_id'))

    op.drop_table('activation_codes')
    op.drop_table('trajectory_targets')
    with op.batch_alter_table('register_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_register_imports_organisation_id'))

    op.drop_table('register_imports')
