"""worklist: indexes for the professional's worklist across a practice of thousands, and
what a person typed when their session ended, kept for them, a professional's team contact, how a consent decision was given, and how a meeting was held

Revision ID: 0013_worklist
Revises: 0012_register
Create Date: 2026-12-07 11:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_worklist'
down_revision = '0012_register'
branch_labels = None
depends_on = None

# Tables of reviewable content: a partial index of the rows waiting for review in each.
WAITING = ('needs_sections', 'goals', 'wishes', 'crisis_steps', 'usual_states', 'contacts')


def _one_of(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


MEETING_STATUSES = ('scheduled', 'held')
MEETING_STATUSES_NOW = MEETING_STATUSES + ('did_not_attend',)


def _meeting_statuses(values):
    with op.batch_alter_table('review_meetings') as batch:
        batch.drop_constraint(op.f('ck_review_meetings_status'), type_='check')
        batch.create_check_constraint(
            op.f('ck_review_meetings_status'), _one_of('status', values)
        )


def upgrade():
    with op.batch_alter_table('review_meetings') as batch:
        batch.add_column(sa.Column('held_by', sa.String(length=20), nullable=True))
        batch.add_column(
            sa.Column('interpreter_used', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.create_check_constraint(
            op.f('ck_review_meetings_held_by'),
            _one_of('held_by', ('face_to_face', 'phone', 'video')),
        )
    _meeting_statuses(MEETING_STATUSES_NOW)
    with op.batch_alter_table('consent_records') as batch:
        batch.add_column(
            sa.Column('method', sa.String(length=20), server_default='online', nullable=False)
        )
        batch.create_check_constraint(
            op.f('ck_consent_records_method'), _one_of('method', ('online', 'in_person', 'paper'))
        )
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('team_contact', sa.String(length=200), nullable=True))
    op.create_table(
        'kept_forms',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('path', sa.String(length=500), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_kept_forms_user_id_users'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kept_forms')),
    )
    op.create_index(op.f('ix_kept_forms_user_id'), 'kept_forms', ['user_id'])
    op.create_index('ix_care_plans_named_contact_id', 'care_plans', ['named_contact_id'])
    for table in WAITING:
        waiting = sa.text('pending_review IS true')
        op.create_index(
            f'ix_{table}_waiting', table, ['plan_id'],
            postgresql_where=waiting, sqlite_where=sa.text('pending_review IS 1'),
        )


def downgrade():
    for table in reversed(WAITING):
        op.drop_index(f'ix_{table}_waiting', table_name=table)
    op.drop_index('ix_care_plans_named_contact_id', table_name='care_plans')
    op.drop_index(op.f('ix_kept_forms_user_id'), table_name='kept_forms')
    op.drop_table('kept_forms')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('team_contact')
    with op.batch_alter_table('consent_records') as batch:
        batch.drop_constraint(op.f('ck_consent_records_method'), type_='check')
        batch.drop_column('method')
    _meeting_statuses(MEETING_STATUSES)
    with op.batch_alter_table('review_meetings') as batch:
        batch.drop_constraint(op.f('ck_review_meetings_held_by'), type_='check')
        batch.drop_column('interpreter_used')
        batch.drop_column('held_by')
