"""Hokkaido reference data (14 振興局, 179 市町村, the Act's programs) and the
two role groups, loaded from the CSV copies in network/data.

Used by migration 0002 (with historical models) and by the test suite to
restore the rows after a transactional test has flushed the database.
"""

import csv
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def _rows(name):
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def load(*, Region, Municipality, Program, Group):
    regions = {}
    for order, row in enumerate(_rows("hokkaido_subprefectures.csv"), start=1):
        regions[row["name"]], _ = Region.objects.update_or_create(
            name=row["name"],
            defaults=dict(
                short_name=row["short_name"],
                kana=row["kana"],
                kind=row["kind"],
                seat=row["seat"],
                order=order,
            ),
        )
    for row in _rows("hokkaido_municipalities.csv"):
        Municipality.objects.update_or_create(
            code=row["code"],
            defaults=dict(
                name=row["name"],
                kana=row["kana"],
                kind=row["kind"],
                region=regions[row["subprefecture"]],
            ),
        )
    for order, row in enumerate(_rows("seikatsu_konkyu_programs.csv"), start=1):
        Program.objects.update_or_create(
            key=row["key"],
            defaults=dict(
                name=row["statutory_name"],
                common_name=row["common_name"],
                status=row["status_since_2025_04"],
                order=order,
            ),
        )
    for name in ("secretariat", "committee"):
        Group.objects.get_or_create(name=name)


def ensure_loaded():
    """Load the reference data with the current models if it is missing."""
    from django.contrib.auth.models import Group

    from .models import Municipality, Program, Region

    if not Municipality.objects.exists() or not Group.objects.filter(name="committee").exists():
        load(Region=Region, Municipality=Municipality, Program=Program, Group=Group)
