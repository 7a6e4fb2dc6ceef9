"""coded notifications and register imports: the database refuses a kind, channel or status
the portal does not know, as it does for every other coded column

Revision ID: 0020_coded_notifications
Revises: 0019_hardening
Create Date: 2026-12-07 15:40:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0020_coded_notifications'
down_revision = '0019_hardening'
branch_labels = None
depends_on = None

KINDS = (
    'crisis_changed', 'named_contact_request', 'review_reminder', 'meeting_booked',
    'meeting_moved', 'plan_agreed', 'results_shared', 'invitation_accepted', 'access_changed',
    'access_ended', 'conversation_message', 'emergency_access', 'proposals_waiting',
    'new_patient_due', 'account_security',
)
CHANNELS = ('email', 'sms', 'letter', 'none')
STATUSES = ('pending', 'sending', 'sent', 'failed')
IMPORT_STATUSES = ('checking', 'previewed', 'importing', 'completed', 'failed')

CHECKS = {
    'notifications': {'kind': KINDS, 'channel': CHANNELS, 'status': STATUSES},
    'notification_preferences': {'kind': KINDS, 'channel': CHANNELS},
    'register_imports': {'status': IMPORT_STATUSES},
}


def _one_of(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table) as batch:
            for column, values in columns.items():
                batch.create_check_constraint(
                    op.f(f'ck_{table}_{column}'), _one_of(column, values)
                )


def downgrade():
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_constraint(op.f(f'ck_{table}_{column}'), type_='check')
