"""Commissioners set the uptake trajectory month by month; each change is audited."""

from datetime import date
from decimal import Decimal

from sqlalchemy import delete, select

from portal import audit
from portal.extensions import db
from portal.models import TrajectoryTarget


def all_targets() -> list[TrajectoryTarget]:
    return list(db.session.scalars(select(TrajectoryTarget).order_by(TrajectoryTarget.month)))


def set_target(month: date, percent: Decimal, user_id: int) -> None:
    found = db.session.get(TrajectoryTarget, month)
    if found is None:
        db.session.add(TrajectoryTarget(month=month, percent=percent, set_by_id=user_id))
    else:
        found.percent, found.set_by_id = percent, user_id
    audit.record("report.trajectory_set", detail=f"{month:%Y-%m}: {percent}")
    db.session.commit()


def remove_target(month: date) -> bool:
    removed = db.session.execute(delete(TrajectoryTarget).where(TrajectoryTarget.month == month))
    if not removed.rowcount:
        return False
    audit.record("report.trajectory_removed", detail=f"{month:%Y-%m}")
    db.session.commit()
    return True
