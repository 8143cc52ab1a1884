"""`manage.py seed_demo`: idempotent demo data for development and demos
(DESIGN §5). Each app seeds its own part (`<app>/demo.py`); this command runs
them in order, all or nothing."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from directory.demo import seed_directory
from events.demo import seed_events
from network.demo import seed_network
from note.demo import seed_note
from support.demo import seed_support
from surveys.demo import seed_surveys


class Command(BaseCommand):
    help = _(
        "デモ用のデータ（組織・職員・デモアカウント・情報交換会・アンケート）を作成します。"
        "何度実行しても同じ結果になります。"
    )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                _(
                    "seed_demo はデモ・開発用です。DEBUG が無効な環境（本番など）では実行できません。"
                    "DEBUG=true の環境で実行してください。"
                )
            )
        if Group.objects.filter(name__in=["secretariat", "committee"]).count() != 2:
            raise CommandError(
                _(
                    "グループ secretariat / committee がありません。先に migrate を実行してください。"
                )
            )
        # All or nothing: a failing step leaves the database as it was.
        with transaction.atomic():
            network_lines = seed_network()
            events_summary = seed_events()
            # After the events its post-event surveys ask about.
            surveys_summary = seed_surveys()
            # The board's rooms, topics and note entries, by the demo accounts.
            note_summary = seed_note()
            # The navi's sample windows (marked サンプル).
            directory_summary = seed_directory()
            # The seven back-up menus and a few applications of this 年度.
            support_summary = seed_support()
        self.stdout.write(events_summary)
        self.stdout.write(surveys_summary)
        self.stdout.write(note_summary)
        self.stdout.write(directory_summary)
        self.stdout.write(support_summary)
        for line in network_lines:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(_("完了しました。")))
