"""`manage.py index_checkin_search [--event ID …]`: (re)write the check-in
search keys (events.RegistrationSearchKey) from the registrations' people and
organisations as they are now.

The services and the attendance import keep the keys current; this is for
registrations written around them (a bulk load, a fix in the admin) and for
a person whose name or e-mail changed after registering (the keys hold what
was true when they registered). Idempotent.
"""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from events.models import Registration


class Command(BaseCommand):
    help = _("受付の検索キーを、申込者と所属組織の今の名前から作り直します。")

    def add_arguments(self, parser):
        parser.add_argument(
            "--event",
            type=int,
            action="append",
            dest="events",
            help=_("このイベントIDの申込だけ（繰り返し指定できます）。"),
        )

    def handle(self, *args, events=None, **options):
        registrations = Registration.objects.all()
        if events:
            registrations = registrations.filter(event_id__in=events)
        written = registrations.index_for_search()
        self.stdout.write(
            _("%(registrations)s 件の申込に検索キー %(keys)s 件を書きました。")
            % {"registrations": registrations.count(), "keys": written}
        )
