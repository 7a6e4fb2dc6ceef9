"""hardening: the print a patient's copies of the plan come in, as a coded preference

Until now large print was guessed from words in the free-text communication needs. Patients
whose needs say so start with large print; anyone can change it from then on.

Revision ID: 0019_hardening
Revises: 0018_orgs
Create Date: 2026-12-07 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019_hardening'
down_revision = '0018_orgs'
branch_labels = None
depends_on = None

# The words the portal used to look for ("Large print letters", "big print", "large font").
ASKED_FOR_LARGE_PRINT = ('%large print%', '%large-print%', '%big print%', '%large font%',
                         '%large type%')


def upgrade():
    with op.batch_alter_table('patients') as batch:
        batch.add_column(
            sa.Column('print_size', sa.String(length=20), server_default='standard',
                      nullable=False)
        )
        batch.create_check_constraint(
            op.f('ck_patients_print_size'), "print_size IN ('standard', 'large')"
        )
    asked = " OR ".join(
        f"lower(communication_needs) LIKE '{words}'" for words in ASKED_FOR_LARGE_PRINT
    )
    op.execute(f"UPDATE patients SET print_size = 'large' WHERE {asked}")


def downgrade():
    with op.batch_alter_table('patients') as batch:
        batch.drop_constraint(op.f('ck_patients_print_size'), type_='check')
        batch.drop_column('print_size')
