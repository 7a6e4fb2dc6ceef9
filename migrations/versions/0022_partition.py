"""audit_partitions: on PostgreSQL the audit trail becomes a table partitioned by month

The existing table is renamed, a table of the same name partitioned by range of occurred_at
is created with a partition for every month holding events, the next few months and a
DEFAULT partition, the rows are copied, and the indexes and foreign keys are made again under
their old names. Ids keep coming from the same sequence, so they go on from the last one.

A partitioned table's primary key must contain its partition key, so it is (id, occurred_at)
here while the models (and SQLite) keep (id): ids still come from one sequence and stay
unique. No table refers to audit_events, so no foreign key has to change.
The downgrade copies the rows back into one plain table. SQLite: nothing to do.

Revision ID: 0022_partition
Revises: 0021_patient
Create Date: 2026-12-07 17:20:00.000000

"""
from datetime import UTC, datetime

from alembic import op
from sqlalchemy import text

from portal import audit_partitions

# revision identifiers, used by Alembic.
revision = "0022_partition"
down_revision = "0021_patient"
branch_labels = None
depends_on = None

COLUMNS = 'id, occurred_at, actor_id, patient_id, action, detail, organisation_id'
INDEXES = {
    'ix_audit_events_patient_time': '(patient_id, occurred_at)',
    'ix_audit_events_actor_id': '(actor_id)',
}
FOREIGN_KEYS = {
    'fk_audit_events_actor_id_users': '(actor_id) REFERENCES users (id)',
    'fk_audit_events_patient_id_patients': '(patient_id) REFERENCES patients (id)',
    'fk_audit_events_organisation_id_organisations':
        '(organisation_id) REFERENCES organisations (id)',
}


def _set_aside(old: str) -> None:
    """Rename the table and its index names (they are unique in the schema) out of the way."""
    op.execute('LOCK TABLE audit_events IN ACCESS EXCLUSIVE MODE')
    op.execute(f'ALTER TABLE audit_events RENAME TO {old}')
    op.execute(f'ALTER TABLE {old} RENAME CONSTRAINT pk_audit_events TO pk_{old}')
    for index in INDEXES:
        op.execute(f'ALTER INDEX {index} RENAME TO {index.replace("audit_events", old)}')
    # The ids' sequence outlives the old table and goes on numbering the new one.
    op.execute('ALTER SEQUENCE audit_events_id_seq OWNED BY NONE')


def _finish(old: str, primary_key: str) -> None:
    """Copy the rows, then build the keys and indexes (faster than keeping them up per row)."""
    op.execute(f'INSERT INTO audit_events ({COLUMNS}) SELECT {COLUMNS} FROM {old}')  # noqa: S608
    op.execute(f'ALTER TABLE audit_events ADD CONSTRAINT pk_audit_events PRIMARY KEY {primary_key}')
    for index, columns in INDEXES.items():
        op.execute(f'CREATE INDEX {index} ON audit_events {columns}')
    for name, reference in FOREIGN_KEYS.items():
        op.execute(f'ALTER TABLE audit_events ADD CONSTRAINT {name} FOREIGN KEY {reference}')
    op.execute('ALTER SEQUENCE audit_events_id_seq OWNED BY audit_events.id')
    op.execute(f'DROP TABLE {old}')


def upgrade():
    if op.get_context().dialect.name != 'postgresql':
        return
    old = 'audit_events_unpartitioned'
    _set_aside(old)
    op.execute(
        f'CREATE TABLE audit_events (LIKE {old} INCLUDING DEFAULTS)'
        ' PARTITION BY RANGE (occurred_at)'
    )
    op.execute(f'CREATE TABLE {audit_partitions.DEFAULT} PARTITION OF audit_events DEFAULT')
    conn = op.get_bind()
    span = text(f'SELECT min(occurred_at), max(occurred_at) FROM {old}')  # noqa: S608
    oldest, newest = conn.execute(span).one()
    first, last = audit_partitions.months_to_keep_ready(datetime.now(UTC).date())
    if oldest is not None:
        first = min(first, oldest.astimezone(UTC).date())
        last = max(last, newest.astimezone(UTC).date())
    audit_partitions.ensure_months(conn, first, last)
    _finish(old, '(id, occurred_at)')


def downgrade():
    if op.get_context().dialect.name != 'postgresql':
        return
    old = 'audit_events_partitioned'
    _set_aside(old)
    op.execute(f'CREATE TABLE audit_events (LIKE {old} INCLUDING DEFAULTS)')
    _finish(old, '(id)')
