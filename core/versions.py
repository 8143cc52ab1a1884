"""Data versions: a short key that changes whenever the rows a cached figure
reads change, computed in one query of scalar subqueries (COUNT, MAX, SUM)
so that a warm page does not read the rows themselves.

Each app states what its figures depend on (committee.participation.
data_version, surveys.results.data_version — the results pages and the
dashboard's survey panel — and support.stats.data_version); this module runs
the subqueries and hashes the row.
"""

from __future__ import annotations

import hashlib

from django.db import connection


def table(model) -> str:
    """The model's table, quoted for raw SQL."""
    return connection.ops.quote_name(model._meta.db_table)


def version_of(key, parts: list[tuple[str, list]]) -> str:
    """Run scalar subqueries `(sql, params)` as one SELECT and hash the row
    with `key` (e.g. the 年度)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join(sql for sql, _params in parts),
            [param for _sql, params in parts for param in params],
        )
        row = cursor.fetchone()
    return hashlib.sha256(repr((key, row)).encode()).hexdigest()[:20]
