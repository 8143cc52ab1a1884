"""`manage.py index_directory_search`: rebuild the navi's keyword-search
documents (directory.search) from the windows as they are.

The import keeps them current; this is for rows written around it (the
admin, a bulk load, a fix in the database) or after the normalisation
changed (core.search). Idempotent.
"""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from directory import search


class Command(BaseCommand):
    help = _("ナビのキーワード検索用データを作り直します。")

    def handle(self, *args, **options):
        count = search.reindex()
        self.stdout.write(_("窓口 %(count)s 件を検索できるようにしました。") % {"count": count})
