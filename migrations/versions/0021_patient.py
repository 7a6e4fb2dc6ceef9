"""patient: easy read as a choice of print for a patient's copies of the plan

Easy read is large print with plain headings. Patients whose communication needs ask for easy
read start with it; anyone can change it from then on. Going down, easy read becomes large
print, the nearest choice there was.

Revision ID: 0021_patient
Revises: 0020_coded_notifications
Create Date: 2026-12-07 17:30:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0021_patient'
down_revision = '0020_coded_notifications'
branch_labels = None
depends_on = None

# The words of a communication need asking for easy read ("Easy read, please").
ASKED_FOR_EASY_READ = (
    "UPDATE patients SET print_size = 'easy_read' WHERE lower(communication_needs) LIKE "
    "'%easy read%' OR lower(communication_needs) LIKE '%easy-read%'"
)


def _sizes(*sizes):
    return f"print_size IN ({', '.join(repr(s) for s in sizes)})"


def upgrade():
    with op.batch_alter_table('patients') as batch:
        batch.drop_constraint(op.f('ck_patients_print_size'), type_='check')
        batch.create_check_constraint(
            op.f('ck_patients_print_size'), _sizes('standard', 'large', 'easy_read')
        )
    op.execute(ASKED_FOR_EASY_READ)


def downgrade():
    op.execute("UPDATE patients SET print_size = 'large' WHERE print_size = 'easy_read'")
    with op.batch_alter_table('patients') as batch:
        batch.drop_constraint(op.f('ck_patients_print_size'), type_='check')
        batch.create_check_constraint(
            op.f('ck_patients_print_size'), _sizes('standard', 'large')
        )
