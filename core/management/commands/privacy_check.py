"""`manage.py privacy_check`: the privacy guard as a filter (a contract, DESIGN §5).

Reads UTF-8 lines on standard input and writes one line per input line:
``flag<TAB>what it found`` (core.privacy.describe) or ``ok``. An empty line
answers ``ok``. A UTF-8 byte-order mark before the first line is ignored, and
so is the ``\\r`` of a CRLF line ending.

A line that is not UTF-8 stops the run: the answers for the lines before it
have been written (each is written and flushed as soon as its line is read,
so the command works in a pipe), nothing is written for the bad line or
after it, a Japanese message naming the line number goes to standard error,
and the exit status is 2. Stopping — rather than answering something for
the line — keeps the contract's promise that every answer line is the verdict
on its input line: a caller that zips input and output never pairs a verdict
with text the guard did not read.

    printf '田中さんの電話は011-123-4567\\n60代の相談者が増えている\\n' \\
        | python manage.py privacy_check
    flag	人名『田中さん』、電話番号『011-123-4567』
    ok
"""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from core.privacy import describe, find

_BOM = b"\xef\xbb\xbf"
# Characters that would break "one answer line per input line" for a reader
# that splits lines the Unicode way; a finding never needs them.
_LINE_BREAKS = str.maketrans(dict.fromkeys("\t\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029", " "))


class Command(BaseCommand):
    help = (
        "標準入力の各行（UTF-8）に個人が特定できる情報がないかを調べ、行ごとに "
        "「flag<TAB>見つかったもの」または「ok」を出力します。"
    )
    # The guard reads no database and no settings beyond Django's own:
    # skipping the system checks keeps it quick to start from a script.
    requires_system_checks = []
    # call_command("privacy_check", stdin=io.BytesIO(...)) in tests.
    stealth_options = ("stdin",)

    def handle(self, *args, **options):
        stream = options.get("stdin") or sys.stdin
        source = getattr(stream, "buffer", stream)
        out = self.stdout._out
        if out is sys.__stdout__ and hasattr(out, "reconfigure"):
            # The contract says UTF-8 whatever the locale of the caller.
            out.reconfigure(encoding="utf-8")
        for number, raw in enumerate(source, start=1):
            line = self._decode(raw, number)
            self.stdout.write(self._answer(line))
            self.stdout.flush()

    @staticmethod
    def _decode(raw, number: int) -> str:
        if isinstance(raw, str):  # a text stream was passed in: already decoded
            text = raw
        else:
            if number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise CommandError(
                    _(
                        "%(line)d行目がUTF-8として読めません（%(position)dバイト目）。"
                        "この行から後は調べていません。"
                    )
                    % {"line": number, "position": error.start + 1},
                    returncode=2,
                ) from None
        if number == 1:
            text = text.removeprefix("\ufeff")
        return text.removesuffix("\n").removesuffix("\r")

    @staticmethod
    def _answer(line: str) -> str:
        findings = find(line)
        if not findings:
            return "ok"
        return "flag\t" + describe(findings).translate(_LINE_BREAKS)
