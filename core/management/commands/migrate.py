"""`migrate`, then the database cache table.

Without Redis the cache (and with it the login rate-limit counts) lives in a
database table, which `createcachetable` makes, not a migration. Doing it here
means every deployment step that already runs `migrate` gets it; the command is
idempotent and does nothing for other cache backends.
"""

from django.core.management import call_command
from django.core.management.commands.migrate import Command as MigrateCommand


class Command(MigrateCommand):
    def handle(self, *args, **options):
        super().handle(*args, **options)
        if options.get("plan") or options.get("check_unapplied"):
            return
        call_command(
            "createcachetable",
            database=options["database"],
            verbosity=options["verbosity"],
        )
