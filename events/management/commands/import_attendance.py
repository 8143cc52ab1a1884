"""`manage.py import_attendance FILE [--dry-run]`: past attendance lists from CSV/Excel.

Same rules as the secretariat's import page (events.importing): all or
nothing, every problem listed by row and column. Exits with status 1 when the
file has errors, so scripts can tell that nothing was written.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from events.importing import COLUMNS, MAX_BYTES, import_attendance


class Command(BaseCommand):
    help = _(
        "過去の参加者名簿（CSV・Excel）を取り込みます。1件でもエラーがあれば何も保存しません。"
        "列: %(columns)s"
    ) % {"columns": ", ".join(COLUMNS)}

    def add_arguments(self, parser):
        parser.add_argument("file", help=_("CSV（UTF-8・UTF-8 BOM付き・Shift_JIS）または .xlsx"))
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=_("確認だけ行い、何も保存しません。"),
        )

    def handle(self, *args, file, dry_run=False, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(_("ファイル %(path)s が見つかりません。") % {"path": file})
        if path.stat().st_size > MAX_BYTES:
            raise CommandError(
                _("ファイルが大きすぎます（上限 %(mb)s MB）。分けて取り込んでください。")
                % {"mb": MAX_BYTES // (1024 * 1024)}
            )
        result = import_attendance(raw=path.read_bytes(), filename=path.name, dry_run=dry_run)
        if result.errors:
            for error in result.errors:
                self.stderr.write(str(error))
            raise CommandError(
                _("エラーが %(count)s 件あります。何も保存していません。")
                % {"count": len(result.errors)}
            )
        self.stdout.write(result.summary())
        if dry_run:
            self.stdout.write(
                _("確認のみ（--dry-run）のため何も保存していません。--dry-run を外すと保存します。")
            )
        else:
            self.stdout.write(self.style.SUCCESS(_("取り込みました。")))
