"""`manage.py import_attendance FILE [--dry-run] [--max-rows N] [--max-bytes N]`:
past attendance lists from CSV/Excel.

Same rules as the secretariat's import page (events.importing): all or
nothing, every problem listed by row and column. Exits with status 1 when the
file has errors, so scripts can tell that nothing was written.

The page takes 10 MB / 50,000 rows, what one web request may hold a worker
for. The command runs in its own process and takes larger files (by default
100 MB / 200,000 rows, events.importing.CLI_LIMITS); --max-rows and
--max-bytes raise them further (docs/imports.md).
"""

import re
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from events.importing import CLI_LIMITS, COLUMNS, MB, Limits, import_attendance

_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": MB, "g": 1024 * MB}


def _size(value: str) -> int:
    """Bytes, or with a unit: 200M, 200MB, 1G."""
    match = _SIZE.match(value)
    if not match or int(match.group(1)) <= 0:
        raise ValueError(value)
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def _rows(value: str) -> int:
    number = int(value.replace("_", "").replace(",", ""))
    if number <= 0:
        raise ValueError(value)
    return number


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
        parser.add_argument(
            "--max-rows",
            type=_rows,
            default=CLI_LIMITS.max_rows,
            help=_("取り込める行数の上限（列名の行を除く。既定 %(rows)s 行）。")
            % {"rows": f"{CLI_LIMITS.max_rows:,}"},
        )
        parser.add_argument(
            "--max-bytes",
            type=_size,
            default=CLI_LIMITS.max_bytes,
            help=_("ファイルの大きさの上限（バイト。200M のように単位も可。既定 %(mb)s MB）。")
            % {"mb": CLI_LIMITS.mb},
        )

    def handle(self, *args, file, dry_run=False, max_rows=None, max_bytes=None, **options):
        within = Limits(
            max_rows=max_rows or CLI_LIMITS.max_rows, max_bytes=max_bytes or CLI_LIMITS.max_bytes
        )
        path = Path(file)
        if not path.is_file():
            raise CommandError(_("ファイル %(path)s が見つかりません。") % {"path": file})
        size = path.stat().st_size
        if size > within.max_bytes:
            raise CommandError(
                _("ファイルが大きすぎます（%(size)s MB、上限 %(mb)s MB）。")
                % {"size": f"{size / MB:.1f}", "mb": within.mb}
                + self._how_to_raise(within)
            )
        result = import_attendance(
            raw=path.read_bytes(), filename=path.name, dry_run=dry_run, within=within
        )
        if result.errors:
            for error in result.errors:
                self.stderr.write(str(error))
            message = _("エラーが %(count)s 件あります。何も保存していません。") % {
                "count": len(result.errors)
            }
            if result.over_limit:
                message += self._how_to_raise(within)
            raise CommandError(message)
        self.stdout.write(result.summary())
        if dry_run:
            self.stdout.write(
                _("確認のみ（--dry-run）のため何も保存していません。--dry-run を外すと保存します。")
            )
        else:
            self.stdout.write(self.style.SUCCESS(_("取り込みました。")))

    @staticmethod
    def _how_to_raise(within: Limits) -> str:
        return _(
            "上限（いま %(rows)s 行・%(mb)s MB）は --max-rows と --max-bytes で引き上げられます"
            "（例: --max-rows %(more_rows)s --max-bytes %(more_mb)sM）。"
        ) % {
            "rows": f"{within.max_rows:,}",
            "mb": within.mb,
            "more_rows": within.max_rows * 2,
            "more_mb": within.mb * 2,
        }
