"""`python manage.py bench [options]`: the same as `make bench` (bench/run.py),
with its options passed through unchanged (`manage.py bench --help` lists them).

The benchmark runs in processes of its own with its own settings and its own
databases (never this process's database), so this command only starts it and
hands back its exit status.
"""

import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

RUN = Path(settings.BASE_DIR) / "bench" / "run.py"


class Command(BaseCommand):
    help = _(
        "全国規模のデータで全ページの速さを測ります（make bench と同じ。"
        "オプションはそのまま渡します: manage.py bench --help）。"
    )

    def run_from_argv(self, argv):
        # Django's own option parsing would reject the benchmark's options
        # (--small, --runs…): everything after "bench" goes to bench/run.py.
        sys.exit(self._run(argv[2:]))

    def add_arguments(self, parser):
        parser.add_argument("options", nargs="*", help=_("bench/run.py のオプション"))

    def handle(self, *args, options=(), **kwargs):
        # call_command("bench", "--small") arrives here.
        status = self._run([*args, *options])
        if status:
            raise CommandError(
                _("ベンチマークが失敗しました（終了コード %(code)s）。") % {"code": status}
            )

    def _run(self, options: list[str]) -> int:
        if not RUN.is_file():
            raise CommandError(_("%(path)s が見つかりません。") % {"path": RUN})
        return subprocess.call([sys.executable, str(RUN), *options], cwd=RUN.parent.parent)
