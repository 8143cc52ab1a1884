"""The portal's mail backends: a console one a person can read, and the SMTP
and file ones that record the moment they hand a mail over (send_handing_over,
below).

Django's console backend prints the MIME message as sent: Japanese subjects
and names appear as `=?utf-8?b?…?=` and the links in a mail are hard to find.
In development (`EMAIL_URL=consolemail://`, the default) this one prints the
decoded headers and the text body, so the secretariat's and members' mails —
and the links in them — can be read in the terminal running `make run`.
"""

import datetime
import os
import re
import smtplib
import uuid
from collections.abc import Callable
from email.header import decode_header, make_header
from pathlib import Path

from django.core.mail import get_connection
from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend
from django.core.mail.backends.filebased import EmailBackend as DjangoFileBackend
from django.core.mail.backends.smtp import EmailBackend as DjangoSMTPBackend

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


# --- Handing a mail over at a recorded moment (decision 0008) ------------------------------
#
# A mail becomes the mail server's at one moment: when the server reads the end
# of the message's data (SMTP's final "."; for the file backend, the rename of
# the written file into the folder). Before it, a dropped connection or a dead
# process leaves nothing delivered (RFC 5321 §4.1.1.4: the server keeps no
# incomplete message), so the outbox may send again; only after it can the mail
# have arrived. send_handing_over() calls `handover` just before that moment:
# the outbox commits there that it is handing the mail over, and may refuse
# (another worker took the message over), in which case the mail is not sent.


class NotHandedOver(Exception):
    """Raised by a handover callback that refuses: the mail must not leave."""


class MayHaveArrived(Exception):
    """The connection failed after the end of the data was sent, before the
    server answered: the mail may have been delivered. Every other exception
    of a send means it was not."""


def _quoted(data: bytes) -> bytes:
    """SMTP's transparency (RFC 5321 §4.5.2): a line starting with a period
    gets another, and the data ends with a line break."""
    data = re.sub(rb"(?m)^\.", b"..", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


class _HandingOver:
    """smtplib's DATA command with a pause before the end of the data."""

    handover: Callable[[], None] | None = None

    def data(self, msg):
        if self.handover is None:
            return super().data(msg)
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        self.send(_quoted(msg))
        try:
            self.handover()
        except BaseException:
            # Never end the data: the server drops what it has read.
            self.close()
            raise
        try:
            self.send(b".\r\n")
            return self.getreply()
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            raise MayHaveArrived(str(exc) or type(exc).__name__) from exc


class _SMTP(_HandingOver, smtplib.SMTP):
    pass


class _SMTP_SSL(_HandingOver, smtplib.SMTP_SSL):
    pass


class SMTPBackend(DjangoSMTPBackend):
    """Django's SMTP backend, with send_handing_over()."""

    @property
    def connection_class(self):
        return _SMTP_SSL if self.use_ssl else _SMTP

    def send_handing_over(self, email_message, handover: Callable[[], None]) -> None:
        with self._lock:
            opened = self.open()
            try:
                self.connection.handover = handover
                if not self._send(email_message):
                    raise smtplib.SMTPException("the message was not sent")
            finally:
                if self.connection is not None:
                    self.connection.handover = None
                if opened:
                    self.close()


class FileBackend(DjangoFileBackend):
    """Django's file backend, one file per message, with send_handing_over():
    the message is written under a .part name and renamed into the folder's
    .log files after the handover — a reader of the folder never sees half
    a message, nor one whose handover was refused."""

    def send_handing_over(self, email_message, handover: Callable[[], None]) -> None:
        name = f"{datetime.datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex}"
        part = Path(self.file_path) / f"{name}.part"
        with part.open("wb") as self.stream:
            self.write_message(email_message)
        self.stream = None
        try:
            handover()
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        os.replace(part, part.with_suffix(".log"))


def send_handing_over(email_message, handover: Callable[[], None]) -> None:
    """Send `email_message` through the configured backend, calling `handover`
    at the last moment before it is delivered (see above). A backend without
    that moment (console, locmem, third-party) gets `handover` before the
    send: then the whole send is the window in which a dead worker leaves
    the outbox not knowing."""
    connection = get_connection()
    if hasattr(connection, "send_handing_over"):
        connection.send_handing_over(email_message, handover)
        return
    handover()
    email_message.connection = connection
    email_message.send()
