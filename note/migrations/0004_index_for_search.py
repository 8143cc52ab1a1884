"""The search documents (core.SearchDocument) of the topics and entries that
exist: from here on note.services keeps them current."""

from django.db import migrations


def index_existing(apps, schema_editor):
    from note import search

    search.reindex(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("note", "0003_digest_run"),
        ("core", "0004_searchdocument"),
    ]

    operations = [migrations.RunPython(index_existing, migrations.RunPython.noop)]
