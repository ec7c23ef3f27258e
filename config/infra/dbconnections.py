"""Letting go of this thread's database connections during long waits."""

from django.db import connections


def release_db_connections() -> None:
    """Close this thread's DB connections so a long upstream call or stream holds none.

    Skipped inside an atomic block (tests, ATOMIC_REQUESTS), where closing would break it.
    With the psycopg pool, closing hands the connection back to the pool.
    """
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()
