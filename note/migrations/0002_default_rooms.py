from django.db import migrations


def create_rooms(apps, schema_editor):
    from note.rooms import ensure_default_rooms

    ensure_default_rooms(Room=apps.get_model("note", "Room"), Program=apps.get_model("network", "Program"))


class Migration(migrations.Migration):
    dependencies = [
        ("note", "0001_initial"),
        ("network", "0002_reference_data"),
    ]

    operations = [migrations.RunPython(create_rooms, migrations.RunPython.noop)]
