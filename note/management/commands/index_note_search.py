"""`manage.py index_note_search`: rebuild the board's and the note's search
documents (note.search) from the topics, replies and entries as they are.

note.services keeps them current; this is for rows written around it (a
bulk load, a fix in the database) or after the normalisation changed
(core.search). Idempotent.
"""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from note import search


class Command(BaseCommand):
    help = _("掲示板とノートの検索用データを作り直します。")

    def handle(self, *args, **options):
        counts = search.reindex()
        self.stdout.write(
            _("相談 %(topics)s 件、ノート記事 %(entries)s 件を検索できるようにしました。") % counts
        )
