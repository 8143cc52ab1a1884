"""Give the secretariat group its named, minimal admin permissions
(network/permissions.py), replacing whatever it had (the demo used to give it
every permission of the portal's apps, including the user admin's)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from network.permissions import grant_secretariat_permissions


def grant(apps, schema_editor):
    # Permissions are normally created after the last migration has run;
    # create the network app's now, so that a fresh database gets the set in
    # the same `migrate`.
    config = apps.get_app_config("network")
    config.models_module = True
    create_permissions(config, verbosity=0, using=schema_editor.connection.alias, apps=apps)
    config.models_module = None
    grant_secretariat_permissions(
        Group=apps.get_model("auth", "Group"), Permission=apps.get_model("auth", "Permission")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("network", "0002_reference_data"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
