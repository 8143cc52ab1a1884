"""The members' board and the network's note (docs/note.md).

A `Room` holds `Topic`s; a topic has `Reply`s; a resolved topic can be
curated into a `NoteEntry`. Topics and replies share `Post`: the author, the
organisation kind at the time of posting (all an anonymous post shows), the
visibility state (published, pending review, hidden) and the edit window.

Nothing here decides who may see what: that is note/access.py, applied
through the scoped querysets (note/querysets.py).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from network.enums import OrganisationKind

from .enums import Function, PostKind, PostState, RoomKind, RoomRole
from .periods import add_months, edit_window, review_months
from .querysets import (
    FollowQuerySet,
    NoteEntryQuerySet,
    ReplyQuerySet,
    RoomQuerySet,
    TopicQuerySet,
)

# --- rooms -------------------------------------------------------------------------


class Room(models.Model):
    Kind = RoomKind
    Role = RoomRole

    kind = models.CharField(_("種類"), max_length=20, choices=RoomKind.choices, db_index=True)
    name = models.CharField(_("名前"), max_length=120)
    description = models.TextField(_("説明"), blank=True)
    program = models.ForeignKey(
        "network.Program",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="note_rooms",
        verbose_name=_("事業"),
    )
    role = models.CharField(_("対象"), max_length=20, choices=RoomRole.choices, blank=True)
    event = models.OneToOneField(
        "events.Event",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="note_room",
        verbose_name=_("会"),
    )
    order = models.PositiveSmallIntegerField(_("表示順"), default=0)
    is_archived = models.BooleanField(
        _("書き込み終了"), default=False, help_text=_("読めますが、新しい投稿はできません。")
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("開設者"),
    )
    created_at = models.DateTimeField(_("作成日時"), default=timezone.now)

    objects = RoomQuerySet.as_manager()

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("部屋")
        verbose_name_plural = _("部屋")
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(kind__in=[RoomKind.NETWORK, RoomKind.MUNICIPAL]),
                name="note_room_one_per_shared_kind",
            ),
            models.UniqueConstraint(
                fields=["program"],
                condition=Q(kind=RoomKind.PROGRAM),
                name="note_room_one_per_program",
            ),
            models.UniqueConstraint(
                fields=["role"], condition=Q(kind=RoomKind.ROLE), name="note_room_one_per_role"
            ),
            # Each kind names exactly what it is about, and nothing else.
            models.CheckConstraint(
                condition=(
                    Q(kind=RoomKind.PROGRAM, program__isnull=False, role="", event__isnull=True)
                    | (
                        Q(kind=RoomKind.ROLE, program__isnull=True, event__isnull=True)
                        & ~Q(role="")
                    )
                    | Q(kind=RoomKind.MEETING, program__isnull=True, role="", event__isnull=False)
                    | Q(
                        kind__in=[RoomKind.NETWORK, RoomKind.MUNICIPAL],
                        program__isnull=True,
                        role="",
                        event__isnull=True,
                    )
                ),
                name="note_room_kind_fields",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("note:room", args=[self.pk])

    @property
    def is_municipal(self) -> bool:
        return self.kind == RoomKind.MUNICIPAL

    @property
    def is_meeting(self) -> bool:
        return self.kind == RoomKind.MEETING

    @property
    def takes_posts(self) -> bool:
        return not self.is_archived


# --- tags --------------------------------------------------------------------------


class Tag(models.Model):
    name = models.CharField(_("タグ"), max_length=30, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("タグ")
        verbose_name_plural = _("タグ")

    def __str__(self):
        return self.name


# --- posts -------------------------------------------------------------------------


class Post(models.Model):
    """What a topic and a reply share."""

    State = PostState

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="note_%(class)ss",
        verbose_name=_("投稿者"),
    )
    author_org = models.ForeignKey(
        "network.Organisation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("投稿時の所属"),
    )
    # Kept as posted: an anonymous post shows this and nothing else of its author.
    author_org_kind = models.CharField(
        _("投稿時の所属の種別"), max_length=20, choices=OrganisationKind.choices, blank=True
    )
    is_anonymous = models.BooleanField(_("匿名"), default=False)
    body = models.TextField(_("本文"))
    state = models.CharField(
        _("状態"), max_length=10, choices=PostState.choices, default=PostState.PUBLISHED
    )
    # What the privacy guard found when the author confirmed anyway (for the reviewer).
    privacy_findings = models.TextField(_("プライバシー確認の指摘"), blank=True)
    hidden_reason = models.TextField(_("非表示の理由"), blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("確認した事務局"),
    )
    moderated_at = models.DateTimeField(_("確認日時"), null=True, blank=True)
    created_at = models.DateTimeField(_("投稿日時"), default=timezone.now, db_index=True)
    edited_at = models.DateTimeField(_("編集日時"), null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_published(self) -> bool:
        return self.state == PostState.PUBLISHED

    @property
    def is_pending(self) -> bool:
        return self.state == PostState.PENDING

    @property
    def is_hidden(self) -> bool:
        return self.state == PostState.HIDDEN

    @property
    def editable_until(self) -> datetime.datetime:
        return self.created_at + edit_window()

    def can_be_edited(self, now=None) -> bool:
        """The post's own rule: within the edit window and not hidden (who
        may edit it is access.may_edit_post)."""
        now = now or timezone.now()
        return not self.is_hidden and now < self.editable_until

    @property
    def author_label(self) -> str:
        """How the post is signed for every reader. Anonymous: the
        organisation kind only, whoever is reading."""
        if self.is_anonymous:
            if self.author_org_kind:
                kind = OrganisationKind(self.author_org_kind).label
                return _("匿名の会員（%(kind)s）") % {"kind": kind}
            return str(_("匿名の会員"))
        if self.author is None:
            return str(_("退会した会員"))
        if self.author_org is not None:
            return f"{self.author.full_name}（{self.author_org.name}）"
        return self.author.full_name


class Topic(Post):
    room = models.ForeignKey(
        Room, on_delete=models.PROTECT, related_name="topics", verbose_name=_("部屋")
    )
    title = models.CharField(_("タイトル"), max_length=120)
    programs = models.ManyToManyField(
        "network.Program", blank=True, related_name="note_topics", verbose_name=_("関係する事業")
    )
    regions = models.ManyToManyField(
        "network.Region", blank=True, related_name="note_topics", verbose_name=_("振興局")
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="topics", verbose_name=_("タグ"))
    resolved_at = models.DateTimeField(_("解決日時"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("解決にした人"),
    )

    objects = TopicQuerySet.as_manager()
    post_kind = PostKind.TOPIC

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("相談")
        verbose_name_plural = _("相談")
        indexes = [
            models.Index(fields=["room", "state", "-created_at"], name="note_topic_room_list"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("note:topic", args=[self.pk])

    @property
    def is_resolved(self) -> bool:
        return self.resolved_at is not None


class Reply(Post):
    topic = models.ForeignKey(
        Topic, on_delete=models.CASCADE, related_name="replies", verbose_name=_("相談")
    )
    is_resolution = models.BooleanField(_("解決につながった返信"), default=False)

    objects = ReplyQuerySet.as_manager()
    post_kind = PostKind.REPLY

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("返信")
        verbose_name_plural = _("返信")
        indexes = [
            models.Index(fields=["topic", "state", "created_at"], name="note_reply_topic_list"),
            # A topic's page of replies in order: walked, not sorted (the
            # visible filter is an OR of states; 2,000 replies sorted took 9 ms
            # on PostgreSQL, make bench).
            models.Index(fields=["topic", "created_at", "id"], name="note_reply_topic_order"),
        ]

    def __str__(self):
        return f"{self.topic} への返信"

    def get_absolute_url(self):
        """The topic's page that holds this reply (the topic view turns
        ?reply= into its page of replies), at the reply."""
        return f"{self.topic.get_absolute_url()}?reply={self.pk}#reply-{self.pk}"

    @property
    def title(self) -> str:
        return ""


class PostRevision(models.Model):
    """A topic's or reply's text as it was before an edit."""

    topic = models.ForeignKey(
        Topic,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="revisions",
        verbose_name=_("相談"),
    )
    reply = models.ForeignKey(
        Reply,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="revisions",
        verbose_name=_("返信"),
    )
    title = models.CharField(_("タイトル"), max_length=120, blank=True)
    body = models.TextField(_("本文"))
    # When this version was replaced by the next one.
    replaced_at = models.DateTimeField(_("編集日時"), default=timezone.now)

    class Meta:
        ordering = ["-replaced_at", "-pk"]
        verbose_name = _("編集履歴")
        verbose_name_plural = _("編集履歴")
        constraints = [
            models.CheckConstraint(
                condition=Q(topic__isnull=False, reply__isnull=True)
                | Q(topic__isnull=True, reply__isnull=False),
                name="note_revision_one_post",
            ),
        ]

    def __str__(self):
        return str(self.topic or self.reply)


class AuthorLookup(models.Model):
    """The log of the secretariat's 「投稿者を確認」: who looked, when, at which post."""

    topic = models.ForeignKey(
        Topic,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="author_lookups",
        verbose_name=_("相談"),
    )
    reply = models.ForeignKey(
        Reply,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="author_lookups",
        verbose_name=_("返信"),
    )
    looked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("確認した人"),
    )
    reason = models.TextField(_("確認の理由"))
    looked_at = models.DateTimeField(_("確認日時"), default=timezone.now)

    class Meta:
        ordering = ["-looked_at", "-pk"]
        verbose_name = _("投稿者の確認記録")
        verbose_name_plural = _("投稿者の確認記録")
        constraints = [
            models.CheckConstraint(
                condition=Q(topic__isnull=False, reply__isnull=True)
                | Q(topic__isnull=True, reply__isnull=False),
                name="note_lookup_one_post",
            ),
        ]

    def __str__(self):
        return f"{self.looked_by} → {self.topic or self.reply}"


class Follow(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="note_follows",
        verbose_name=_("ユーザー"),
    )
    topic = models.ForeignKey(
        Topic, on_delete=models.CASCADE, related_name="follows", verbose_name=_("相談")
    )
    created_at = models.DateTimeField(_("フォロー日時"), default=timezone.now)

    objects = FollowQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("フォロー")
        verbose_name_plural = _("フォロー")
        constraints = [
            models.UniqueConstraint(fields=["user", "topic"], name="note_follow_unique"),
        ]

    def __str__(self):
        # Not the follower: the asker follows their own topic, anonymous or not.
        return f"{self.topic} のフォロー"


class NotePreference(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="note_preference",
        verbose_name=_("ユーザー"),
    )
    wants_digest = models.BooleanField(
        _("週1回のお知らせメールを受け取る"),
        default=True,
        help_text=_("まだ返信のない新しい相談と、ノートに加わった記事をお知らせします。"),
    )

    class Meta:
        verbose_name = _("掲示板の設定")
        verbose_name_plural = _("掲示板の設定")

    def __str__(self):
        return str(self.user)


class DigestRun(models.Model):
    """A weekly digest sweep that went through every member: a later run in
    the same ISO week stops at once instead of reading everyone's rooms again."""

    week = models.CharField(_("週"), max_length=10, unique=True)
    finished_at = models.DateTimeField(_("完了日時"), default=timezone.now)
    queued = models.PositiveIntegerField(_("送信待ちにした件数"), default=0)

    class Meta:
        ordering = ["-week"]
        verbose_name = _("週のお知らせの送信記録")
        verbose_name_plural = _("週のお知らせの送信記録")

    def __str__(self):
        return self.week


class Curator(models.Model):
    """A member who may curate resolved topics into the note (besides the secretariat)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="note_curator",
        verbose_name=_("ユーザー"),
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("登録者"),
    )
    created_at = models.DateTimeField(_("登録日時"), default=timezone.now)

    class Meta:
        verbose_name = _("ノート編集者")
        verbose_name_plural = _("ノート編集者")

    def __str__(self):
        return str(self.user)


# --- the note ----------------------------------------------------------------------


class NoteEntry(models.Model):
    """Curated knowledge with its provenance."""

    State = PostState

    title = models.CharField(_("タイトル"), max_length=120)
    summary = models.TextField(_("まとめ"), help_text=_("来年、同じことで困る人に向けて書きます。"))
    programs = models.ManyToManyField(
        "network.Program", blank=True, related_name="note_entries", verbose_name=_("事業")
    )
    regions = models.ManyToManyField(
        "network.Region", blank=True, related_name="note_entries", verbose_name=_("振興局")
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="entries", verbose_name=_("タグ"))
    source_topic = models.ForeignKey(
        Topic,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="entries",
        verbose_name=_("元の相談"),
    )
    curator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="note_entries",
        verbose_name=_("まとめた人"),
    )
    fiscal_year = models.PositiveSmallIntegerField(_("年度"), db_index=True)
    reviewed_on = models.DateField(_("最終確認日"))
    anonymisation_checked = models.BooleanField(_("匿名化の確認"), default=False)
    state = models.CharField(
        _("状態"), max_length=10, choices=PostState.choices, default=PostState.PUBLISHED
    )
    privacy_findings = models.TextField(_("プライバシー確認の指摘"), blank=True)
    hidden_reason = models.TextField(_("非表示の理由"), blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("確認した事務局"),
    )
    moderated_at = models.DateTimeField(_("確認日時"), null=True, blank=True)
    created_at = models.DateTimeField(_("作成日時"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("更新日時"), default=timezone.now)

    objects = NoteEntryQuerySet.as_manager()
    post_kind = PostKind.ENTRY

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("ノートの記事")
        verbose_name_plural = _("ノートの記事")
        constraints = [
            models.CheckConstraint(
                condition=Q(anonymisation_checked=True), name="note_entry_anonymisation_checked"
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("note:entry", args=[self.pk])

    @property
    def body(self) -> str:
        return self.summary

    @property
    def is_published(self) -> bool:
        return self.state == PostState.PUBLISHED

    @property
    def is_pending(self) -> bool:
        return self.state == PostState.PENDING

    @property
    def is_hidden(self) -> bool:
        return self.state == PostState.HIDDEN

    @property
    def is_anonymous(self) -> bool:
        return False  # an entry is signed by its curator's role, never anonymous

    def review_due_on(self) -> datetime.date:
        return add_months(self.reviewed_on, review_months())

    def needs_review(self, today=None) -> bool:
        """Past the review period (NOTE_REVIEW_MONTHS) since it was last checked."""
        today = today or timezone.localdate()
        return self.review_due_on() <= today

    @property
    def functions(self) -> list[Function]:
        """The functions (1–7), from prefetched rows when there are any."""
        return sorted(Function(row.function) for row in self.function_rows.all())


class EntryFunction(models.Model):
    entry = models.ForeignKey(
        NoteEntry, on_delete=models.CASCADE, related_name="function_rows", verbose_name=_("記事")
    )
    function = models.PositiveSmallIntegerField(_("機能"), choices=Function.choices)

    class Meta:
        ordering = ["function"]
        verbose_name = _("記事の機能")
        verbose_name_plural = _("記事の機能")
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "function"], name="note_entry_function_unique"
            ),
        ]

    def __str__(self):
        return str(Function(self.function).label)
