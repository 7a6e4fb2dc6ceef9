"""coded values: CHECK constraints so the database refuses a value outside its enum

Revision ID: 0005_structure
Revises: 0004_text_languages
Create Date: 2026-12-07 11:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005_structure'
down_revision = '0004_text_languages'
branch_labels = None
depends_on = None

# table -> column -> allowed values, as the enums in portal.models stood at this revision
# (written out, so this migration keeps meaning the same when the enums change later).
CODED = {
    'users': {'role': ('patient', 'carer', 'professional', 'commissioner', 'admin')},
    'patients': {
        'sex': ('female', 'male', 'other', 'unknown'),
        'ethnicity_category': (
            'white_british', 'white_irish', 'white_other', 'mixed_white_black_caribbean',
            'mixed_white_black_african', 'mixed_white_asian', 'mixed_other', 'asian_indian',
            'asian_pakistani', 'asian_bangladeshi', 'asian_other', 'black_caribbean',
            'black_african', 'black_other', 'chinese', 'other', 'not_stated',
        ),
    },
    'care_plans': {'preferred_format': ('electronic', 'paper')},
    'needs_sections': {
        'domain': (
            'health', 'personal', 'family', 'social', 'home', 'economic', 'educational',
            'mental_health', 'cultural',
        ),
    },
    'goals': {'status': ('proposed', 'agreed', 'achieved', 'not_achieved', 'withdrawn')},
    'wishes': {
        'kind': (
            'place_of_care', 'how_cared_for', 'religious_cultural', 'things_to_avoid',
            'end_of_life',
        ),
    },
    'crisis_steps': {'level': ('green', 'amber', 'red')},
    'contacts': {
        'kind': ('next_of_kin', 'carer', 'practice', 'out_of_hours', 'specialist', 'other'),
    },
    'access_grants': {'scope': ('crisis', 'view', 'contribute')},
    'review_meetings': {'status': ('scheduled', 'held')},
}


def _condition(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    for table, columns in CODED.items():
        with op.batch_alter_table(table) as batch:
            for column, values in columns.items():
                batch.create_check_constraint(
                    op.f(f'ck_{table}_{column}'), _condition(column, values)
                )


def downgrade():
    for table, columns in reversed(CODED.items()):
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_constraint(op.f(f'ck_{table}_{column}'), type_='check')
