"""Cross-app tables. The outbox records every notification once, so that a
retried task or a second sweep can never send the same message twice."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# What a message's secret is replaced with once it no longer needs to be kept.
REDACTED = _("［送信後に削除しました］")


class OutboxMessage(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("送信待ち")
        SENDING = "sending", _("送信中")
        SENT = "sent", _("送信済み")
        FAILED = "failed", _("失敗")
        SKIPPED = "skipped", _("取りやめ")
        # The worker died between handing the mail to the server and recording
        # it: it may have arrived. Never resent without a person checking.
        UNKNOWN = "unknown", _("要確認（届いた可能性あり）")

    # Idempotency key, e.g. "registration:42:confirmed" or "event:7:reminder:3d".
    key = models.CharField(_("キー"), max_length=200, unique=True)
    kind = models.CharField(_("種類"), max_length=50, db_index=True)
    to_email = models.EmailField(_("宛先"))
    subject = models.CharField(_("件名"), max_length=200)
    body = models.TextField(_("本文"))
    reply_to = models.EmailField(_("返信先"), blank=True, default="")
    # A credential the body carries (e.g. the raw token of an invitation link,
    # of which only a hash is stored elsewhere). Kept only while the message
    # may still be sent: once it is sent or skipped, every occurrence in the
    # body is replaced with REDACTED and this is emptied (decision 0005).
    secret = models.CharField(_("送信後に消す文字列"), max_length=200, blank=True, default="")
    status = models.CharField(
        _("状態"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("試行回数"), default=0)
    last_error = models.TextField(_("エラー"), blank=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    claimed_at = models.DateTimeField(_("送信開始"), null=True, blank=True)
    sent_at = models.DateTimeField(_("送信日時"), null=True, blank=True)
    # Who put an unknown or failed message back in the queue, after confirming
    # it had not arrived (core.outbox.resend_after_confirmation).
    resent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("再送した人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resent_at = models.DateTimeField(_("再送日時"), null=True, blank=True)

    # A person may send these again, after confirming they did not arrive.
    RESENDABLE_STATUSES = (Status.UNKNOWN, Status.FAILED)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("送信記録")
        verbose_name_plural = _("送信記録")

    def __str__(self):
        return f"{self.kind} → {self.to_email}"

    @property
    def may_have_arrived(self) -> bool:
        return self.status == self.Status.UNKNOWN

    @property
    def can_be_resent(self) -> bool:
        return self.status in self.RESENDABLE_STATUSES

    @property
    def redacted_body(self) -> str:
        """The body without its secret: what is kept once the message is done
        with, and all that is ever shown of it."""
        if not self.secret:
            return self.body
        return self.body.replace(self.secret, str(REDACTED))
