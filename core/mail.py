"""A console mail backend that a person can read.

Django's console backend prints the MIME message as sent: Japanese subjects
and names appear as `=?utf-8?b?…?=` and the links in a mail are hard to find.
In development (`EMAIL_URL=consolemail://`, the default) this one prints the
decoded headers and the text body, so the secretariat's and members' mails —
and the links in them — can be read in the terminal running `make run`.
"""

from email.header import decode_header, make_header

from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend

SHOWN_HEADERS = ("Subject", "From", "To", "Cc", "Reply-To", "Date")


def readable_header(value: str) -> str:
    """An RFC 2047 encoded header as plain text."""
    return str(make_header(decode_header(value)))


class EmailBackend(DjangoConsoleBackend):
    def write_message(self, message):
        mime = message.message()
        lines = []
        for name in SHOWN_HEADERS:
            value = mime.get(name)
            if value:
                lines.append(f"{name}: {readable_header(str(value))}")
        lines.append("")
        lines.append(message.body)
        for content, mimetype in getattr(message, "alternatives", []) or []:
            lines.append(f"[{mimetype} の別表示あり（{len(content)}文字）]")
        for attachment in message.attachments:
            name = attachment[0] if isinstance(attachment, tuple) else attachment.get_filename()
            lines.append(f"[添付: {name}]")
        self.stream.write("\n".join(lines) + "\n")
        self.stream.write("-" * 79 + "\n")
