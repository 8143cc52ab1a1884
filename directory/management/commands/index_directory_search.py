"""`manage.py index_directory_search`: rebuild what the navi derives from
the windows — the keyword-search documents (directory.search) and the
trouble × area listing (directory.places) — from the windows as they are.

directory.indexing keeps them current after the import, the admin and
corrections; this is for rows written around those (a bulk load, a fix in
the database) or after the normalisation changed (core.search). Idempotent.
"""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from directory import indexing


class Command(BaseCommand):
    help = _("ナビの検索用データ（キーワード検索と、困りごと・地域ごとの一覧）を作り直します。")

    def handle(self, *args, **options):
        counts = indexing.rebuild()
        self.stdout.write(
            _("窓口 %(windows)s 件を検索できるようにしました（掲載先 %(places)s 件）。") % counts
        )
