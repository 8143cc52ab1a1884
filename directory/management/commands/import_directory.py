"""`manage.py import_directory FILE [--dry-run]`: the directory from open-data
CSV (自治体標準オープンデータセット) or the native CSV (docs/directory.md).

All or nothing, every problem listed by row and column; exits with status 1
when the file has errors, so scripts can tell that nothing was written."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from directory.importing import CLI_LIMITS, import_directory


class Command(BaseCommand):
    help = _(
        "支援情報ナビの窓口を取り込みます（公共施設一覧・介護サービス事業所一覧・"
        "子育て施設一覧・ネイティブCSV）。1件でもエラーがあれば何も保存しません。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help=_("CSV（UTF-8・UTF-8 BOM付き・Shift_JIS）"))
        parser.add_argument(
            "--dry-run", action="store_true", help=_("確認だけ行い、何も保存しません。")
        )

    def handle(self, *args, file, dry_run=False, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(_("ファイル %(path)s が見つかりません。") % {"path": file})
        result = import_directory(
            raw=path.read_bytes(), dry_run=dry_run, within=CLI_LIMITS, filename=path.name
        )
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
