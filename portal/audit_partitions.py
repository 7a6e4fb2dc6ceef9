"""Monthly partitions of the audit trail on PostgreSQL.

``audit_events`` grows without bound (about 450 million events a year at national scale,
docs/scaling.md). On PostgreSQL it is partitioned by range of ``occurred_at``, one partition a
calendar month in UTC (``audit_events_2026_12``), so each month's indexes stay the size of one
month and a month can be detached and archived whole. A ``DEFAULT`` partition catches any
event whose month has no partition, so an insert never fails for want of one.

The daily job below keeps the current month and the next ``MONTHS_AHEAD`` created. If it did
not run for longer than that, new events would land in the DEFAULT partition (nothing is
lost), and creating that month's partition afterwards is refused by PostgreSQL while the
DEFAULT partition holds rows of that month: the job logs it and goes on with the other months;
docs/scaling.md says how to move such rows by hand. SQLite keeps one plain table.
"""

import logging
import re
from datetime import UTC, date, datetime

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from portal import jobs

log = logging.getLogger(__name__)

PARENT = "audit_events"
DEFAULT = "audit_events_default"
MONTHS_AHEAD = 3
# Partitions are named after their month; the models know only the parent table.
_PARTITION_NAME = re.compile(r"^audit_events_(\d{4}_\d{2}|default)$")
# Creating a partition briefly locks the parent: wait at most this long behind a long read
# rather than hold up every insert queued behind the lock (the job runs again the next day).
LOCK_TIMEOUT = "5s"


def is_partition(name: str) -> bool:
    """Whether a table name is one of the audit trail's partitions (not in the models)."""
    return bool(_PARTITION_NAME.match(name))


def add_months(month: date, count: int) -> date:
    """The first day of the month ``count`` months after ``month``'s."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{PARENT}_{month:%Y_%m}"


def is_partitioned(conn: Connection) -> bool:
    """Whether this database's audit trail is a partitioned table (PostgreSQL after 0021)."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.scalar(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": PARENT}
    )
    return kind == "p"


def partitions(conn: Connection) -> set[str]:
    """The names of the audit trail's partitions, DEFAULT included."""
    return set(
        conn.scalars(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " WHERE i.inhparent = to_regclass(:t)"
            ),
            {"t": PARENT},
        )
    )


def create_month(conn: Connection, month: date) -> str:
    """Create one month's partition: from its first instant (UTC) to the next month's.

    Made as a table of its own, then attached: attaching locks the parent table only against
    other changes to its structure, so inserts and reads go on meanwhile (creating it with
    ``PARTITION OF`` would stop them for as long as it waits for its lock). PostgreSQL adds the
    parent's keys and indexes to it on attaching, at once since it is empty.
    """
    name = partition_name(month)
    start, end = month, add_months(month, 1)
    conn.execute(text(f'CREATE TABLE "{name}" (LIKE {PARENT} INCLUDING DEFAULTS)'))
    conn.execute(
        text(
            f'ALTER TABLE {PARENT} ATTACH PARTITION "{name}" '
            f"FOR VALUES FROM ('{start.isoformat()} 00:00:00+00') "
            f"TO ('{end.isoformat()} 00:00:00+00')"
        )
    )
    return name


def ensure_months(conn: Connection, first: date, last: date) -> list[str]:
    """Create every missing monthly partition from ``first``'s month to ``last``'s.

    Each month is created in its own savepoint: one refused month (its events already in the
    DEFAULT partition) is logged and does not stop the others.
    """
    existing = partitions(conn)
    created = []
    month = first.replace(day=1)
    while month <= last:
        if partition_name(month) not in existing:
            try:
                with conn.begin_nested():
                    created.append(create_month(conn, month))
            except DBAPIError as refused:
                log.error(
                    "audit partition %s not created: %s",
                    partition_name(month),
                    type(refused.orig).__name__,
                )
        month = add_months(month, 1)
    return created


def months_to_keep_ready(today: date) -> tuple[date, date]:
    """This month and the next ``MONTHS_AHEAD``."""
    this_month = today.replace(day=1)
    return this_month, add_months(this_month, MONTHS_AHEAD)


@jobs.job("audit.create_partitions")
def create_partitions(today: date | None = None) -> list[str]:
    """Create the audit trail's partitions for this month and the next few (safe to repeat)."""
    from portal.extensions import db

    conn = db.session.connection()
    if not is_partitioned(conn):
        return []
    conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    created = ensure_months(conn, *months_to_keep_ready(today or datetime.now(UTC).date()))
    db.session.commit()
    if created:
        log.info("audit partitions created: %s", ", ".join(created))
    return created


def include_name(name: str | None, type_: str, _parent_names) -> bool:
    """Alembic's ``include_name``: leave the partitions out when comparing with the models."""
    return not (type_ == "table" and name is not None and is_partition(name))
