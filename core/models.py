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
    # Committed at the last moment before the mail became the mail server's
    # (core.mail.send_handing_over): a message claimed but never handed over
    # cannot have arrived, and is sent again; one handed over but not
    # recorded as sent may have (UNKNOWN). Decision 0008.
    handed_over_at = models.DateTimeField(_("引き渡し日時"), null=True, blank=True)
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


class SearchTokensField(models.TextField):
    """A search document's grams (core/search.py): space-separated text on
    SQLite, where triggers copy it into the FTS5 table, and a ``tsvector`` on
    PostgreSQL, where a GIN index holds it (decision 0006). The value is
    written as text either way; PostgreSQL parses it with the tsvector input
    format, which keeps every space-separated gram as it is (no text-search
    parser or dictionary is involved, so nothing depends on the server's
    locale or configuration)."""

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return "tsvector"
        return super().db_type(connection)

    def get_placeholder(self, value, compiler, connection):
        if connection.vendor == "postgresql":
            return "%s::tsvector"
        return "%s"


class SearchDocument(models.Model):
    """One searchable object (a topic, a note entry, a navi window…) as the
    search index sees it: its title and body normalised (core.search.normalise)
    and their grams. Written only through core.search (index, remove,
    reindex_all); the apps keep their own tables and scope access themselves."""

    # "app.model", e.g. "note.topic"; with object_id it names the object.
    kind = models.CharField(_("種類"), max_length=50)
    object_id = models.BigIntegerField(_("対象ID"))
    # Ranks documents that match equally well (a title hit always ranks
    # above a body-only hit): higher first, then the newer document (larger
    # id). Kept to two decimals, which the SQLite index packs into its rowid.
    boost = models.FloatField(_("重み"), default=1.0)
    title = models.TextField(_("件名（正規化）"))
    body = models.TextField(_("本文（正規化）"), blank=True)
    # Last, so that on SQLite the long value sits at the end of the row.
    tokens = SearchTokensField(_("検索用の語片"), blank=True, editable=False)

    class Meta:
        verbose_name = _("検索用文書")
        verbose_name_plural = _("検索用文書")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "object_id"], name="core_searchdoc_unique_object"
            ),
            # The SQLite index packs round(boost * 100) into its rowid.
            models.CheckConstraint(
                condition=models.Q(boost__gte=0) & models.Q(boost__lte=1000),
                name="core_searchdoc_boost_range",
            ),
        ]
        # The search indexes are database-specific and made by migration
        # core/0004: an FTS5 table on SQLite; on PostgreSQL a GIN index on
        # `tokens` and core_searchdoc_rank (kind, boost DESC, id DESC) INCLUDE
        # (object_id, title) for walks in rank order (decision 0006).

    def __str__(self):
        return f"{self.kind}:{self.object_id}"
