"""What a request changed: row counts and a hash of every row, before and after.

`take()` reads every table of the installed apps (the sessions table aside:
logging a test client in writes it, and it holds no data of the portal) plus
the mails sent through Django's test outbox. Comparing two snapshots names the
tables that changed, so a refused request that still wrote something fails
with the table's name, not a bare "not equal".
"""

import hashlib
from dataclasses import dataclass

from django.apps import apps
from django.core import mail
from django.db import connection

# Sessions change on every login and carry messages; they hold no portal data.
IGNORED_APPS = {"sessions"}


@dataclass(frozen=True)
class Table:
    rows: int
    digest: str


@dataclass(frozen=True)
class Snapshot:
    tables: dict

    def changes_from(self, before: "Snapshot") -> list[str]:
        """The tables whose rows differ from `before`, as 'table: 3 → 4 rows'
        (or 'rows changed' when only the contents did)."""
        changed = []
        for name in sorted(set(self.tables) | set(before.tables)):
            old, new = before.tables.get(name), self.tables.get(name)
            if old == new:
                continue
            if old is None or new is None or old.rows != new.rows:
                changed.append(f"{name}: {old.rows if old else 0} → {new.rows if new else 0} rows")
            else:
                changed.append(f"{name}: rows changed")
        return changed


def _models():
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label not in IGNORED_APPS
        and model._meta.managed
        and not model._meta.proxy
    ]


def _digest(rows) -> str:
    return hashlib.sha256(repr(rows).encode("utf-8")).hexdigest()


def take() -> Snapshot:
    tables = {}
    with connection.cursor() as cursor:
        for model in _models():
            # Plain SQL, not a manager: no default manager may hide a row
            # (inactive, soft-deleted), and it is fast enough to run twice
            # per request in the access matrix.
            table = model._meta.db_table
            pk = model._meta.pk.column
            quote = connection.ops.quote_name
            cursor.execute(f"SELECT * FROM {quote(table)} ORDER BY {quote(pk)}")
            rows = cursor.fetchall()
            tables[table] = Table(len(rows), _digest(rows))
    sent = [(m.subject, tuple(m.to), m.body) for m in getattr(mail, "outbox", [])]
    tables["(mail.outbox)"] = Table(len(sent), _digest(sent))
    return Snapshot(tables)
