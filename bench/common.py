"""What several benchmarks need: the size of a data set, and the portal on it in-process."""

import os

from sqlalchemy import create_engine, text


def patient_count(url: str) -> int:
    """Patients already in the database (0 before the schema exists)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM patients")).scalar_one()
    except Exception:  # noqa: BLE001 - no schema yet
        return 0
    finally:
        engine.dispose()


def portal_app(url: str):
    """The portal on the benchmark database, configured as a development server."""
    os.environ.update(
        {
            "DATABASE_URL": url,
            "PORTAL_ENV": "development",
            "PORTAL_SECRET_KEY": "bench-only-secret",
            "PORTAL_RATELIMIT_ENABLED": "false",
        }
    )
    from portal import create_app

    return create_app()


def percentile(ordered: list[float], share: float) -> float:
    """The value ``share`` (0.95: the p95) of the way up an ascending list, nearest rank."""
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]
