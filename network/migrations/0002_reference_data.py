"""Load Hokkaido's 14 振興局, 179 市町村, the Act's programs and the two role groups
from the CSV copies in network/data (provenance: network/data/SOURCES.md)."""

import csv
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data"


def _rows(name):
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def load(apps, schema_editor):
    Region = apps.get_model("network", "Region")
    Municipality = apps.get_model("network", "Municipality")
    Program = apps.get_model("network", "Program")
    Group = apps.get_model("auth", "Group")

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


class Migration(migrations.Migration):
    dependencies = [
        ("network", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
