"""Fast bulk writes for the importers (events' attendance, directory's open
data): rows given as plain dicts, inserted with executemany (COPY on
PostgreSQL, unless conflicting rows are to be skipped).

Why not bulk_create: for a large file it builds and prepares one model
instance per row and table (people, memberships, registrations; windows,
phones, a schedule per weekday), which was most of an import's time (below
2,000 rows/s on a 2-core machine). The columns still come from the model's
own fields and values are prepared by the fields themselves
(get_db_prep_save), only once per distinct value, so a field added to the
model later is filled with its default here too. Rows whose ids are needed
are read back by their natural key.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.db import connection
from django.utils import timezone

CHUNK = 500


def chunks(values: Iterable, size: int = CHUNK) -> Iterator[list]:
    """`values` in lists of at most `size`."""
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def insert_rows(
    model, rows: list[dict], *, ignore_conflicts: bool = False, chunk_size: int = CHUNK
) -> None:
    """INSERT `rows`, given as {attname: value} (every row the same keys);
    every other column takes the field's default (auto_now/auto_now_add:
    now). With `ignore_conflicts`, a row that breaks a unique constraint is
    skipped. Prepared and sent a chunk at a time: the whole file's parameters
    at once were an import's peak of memory."""
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    given = set(rows[0])
    now = timezone.now()
    # Columns the rows do not give are the same for every row: prepared once.
    constant = {}
    for field in fields:
        if field.attname not in given:
            auto = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
            value = now if auto else field.get_default()
            constant[field.attname] = field.get_db_prep_save(value, connection)
    prepared: dict = {}

    def prepare(field, value):
        if isinstance(value, str) and field.get_internal_type() in ("CharField", "TextField"):
            return value  # what CharField/TextField would prepare it to
        key = (field.attname, value)
        if key not in prepared:
            prepared[key] = field.get_db_prep_save(value, connection)
        return prepared[key]

    qn = connection.ops.quote_name
    verb, conflict = "INSERT INTO", ""
    if ignore_conflicts:
        if connection.vendor == "sqlite":
            verb = "INSERT OR IGNORE INTO"
        else:
            conflict = " ON CONFLICT DO NOTHING"
    sql = "{} {} ({}) VALUES ({}){}".format(
        verb,
        qn(model._meta.db_table),
        ", ".join(qn(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
        conflict,
    )

    def values(row):
        return [
            constant[f.attname] if f.attname in constant else prepare(f, row[f.attname])
            for f in fields
        ]

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not ignore_conflicts:
            # COPY: several times faster than a pipelined executemany of INSERTs.
            columns = ", ".join(qn(f.column) for f in fields)
            with cursor.cursor.copy(
                f"COPY {qn(model._meta.db_table)} ({columns}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(values(row))
            return
        for chunk in chunks(rows, chunk_size):
            cursor.executemany(sql, [values(row) for row in chunk])
