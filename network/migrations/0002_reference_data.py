"""Load Hokkaido's 14 振興局, 179 市町村, the Act's programs and the two role groups
from the CSV copies in network/data (provenance: network/data/SOURCES.md)."""

from django.db import migrations

from network import reference


def load(apps, schema_editor):
    reference.load(
        Region=apps.get_model("network", "Region"),
        Municipality=apps.get_model("network", "Municipality"),
        Program=apps.get_model("network", "Program"),
        Group=apps.get_model("auth", "Group"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("network", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
