"""Each topic's search document under its room's own kind too (note.search,
ROOM_TOPIC_PREFIX), so that a room's search reads only that room."""

from django.db import migrations


def index_existing(apps, schema_editor):
    from note import search

    search.reindex(apps)


class Migration(migrations.Migration):
    dependencies = [("note", "0005_reply_topic_order")]

    operations = [migrations.RunPython(index_existing, migrations.RunPython.noop)]
