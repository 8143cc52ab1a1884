"""Meetings of the network (情報交換会, シンポジウム, 勉強会, 報告会, 部会) and who comes."""

import secrets

from django.conf import settings
from django.core.validators import FileExtensionValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from network.models import Municipality, Organisation, Program

from .querysets import EventQuerySet, RegistrationQuerySet


class Event(models.Model):
    class Kind(models.TextChoices):
        EXCHANGE = "exchange", _("情報交換会")
        SYMPOSIUM = "symposium", _("シンポジウム")
        STUDY = "study", _("勉強会")
        REPORT = "report", _("報告会")
        SUBCOMMITTEE = "subcommittee", _("部会")

    class Format(models.TextChoices):
        VENUE = "venue", _("会場")
        ONLINE = "online", _("オンライン")
        HYBRID = "hybrid", _("会場＋オンライン")

    class Audience(models.TextChoices):
        MEMBERS = "members", _("メンバー全員")
        MUNICIPAL = "municipal", _("自治体のみ")
        CONTRACTOR = "contractor", _("受託団体のみ")
        PROGRAM = "program", _("特定の事業の実施団体")
        PUBLIC = "public", _("一般公開")

    class Status(models.TextChoices):
        DRAFT = "draft", _("下書き")
        PUBLISHED = "published", _("公開中")
        CANCELLED = "cancelled", _("中止")
        FINISHED = "finished", _("終了")

    kind = models.CharField(_("種類"), max_length=20, choices=Kind.choices, db_index=True)
    number = models.PositiveSmallIntegerField(
        _("回"), null=True, blank=True, help_text=_("第N回のN")
    )
    fiscal_year = models.PositiveSmallIntegerField(_("年度"), db_index=True)
    title = models.CharField(_("名称"), max_length=200)
    theme = models.CharField(_("テーマ"), max_length=200, blank=True)
    description = models.TextField(_("内容"), blank=True)
    starts_at = models.DateTimeField(_("開始日時"), db_index=True)
    ends_at = models.DateTimeField(_("終了日時"))
    format = models.CharField(
        _("開催形式"), max_length=10, choices=Format.choices, default=Format.VENUE
    )
    venue_name = models.CharField(_("会場名"), max_length=200, blank=True)
    venue_address = models.CharField(_("会場住所"), max_length=200, blank=True)
    municipality = models.ForeignKey(
        Municipality,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("開催市町村"),
    )
    # None = no limit for that mode.
    venue_capacity = models.PositiveIntegerField(_("会場定員"), null=True, blank=True)
    online_capacity = models.PositiveIntegerField(_("オンライン定員"), null=True, blank=True)
    online_url = models.URLField(
        _("オンライン参加URL"),
        blank=True,
        help_text=_("オンラインで参加が確定した人にだけ表示します。"),
    )
    has_social = models.BooleanField(_("懇親会あり"), default=False)
    social_capacity = models.PositiveIntegerField(_("懇親会定員"), null=True, blank=True)
    social_details = models.CharField(_("懇親会の案内"), max_length=200, blank=True)
    registration_opens_at = models.DateTimeField(_("申込開始"), null=True, blank=True)
    registration_closes_at = models.DateTimeField(_("申込締切"), null=True, blank=True)
    audience = models.CharField(
        _("対象"), max_length=20, choices=Audience.choices, default=Audience.MEMBERS
    )
    audience_program = models.ForeignKey(
        Program,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("対象の事業"),
        help_text=_("対象が「特定の事業の実施団体」のとき"),
    )
    host_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="hosted_events",
        verbose_name=_("開催担当（リレー）"),
    )
    status = models.CharField(
        _("状態"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    cancellation_reason = models.TextField(_("中止の理由"), blank=True)
    # Set when the event is first published. A cancelled event is shown to
    # members only if it had been announced: a draft never reaches them.
    published_at = models.DateTimeField(_("公開日時"), null=True, blank=True)
    report_url = models.URLField(_("報告書URL"), blank=True)
    video_url = models.URLField(_("動画URL"), blank=True)
    slides = models.FileField(
        _("資料（PDF）"),
        upload_to="events/slides/%Y/",
        blank=True,
        validators=[FileExtensionValidator(["pdf"])],
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("イベント")
        verbose_name_plural = _("イベント")

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("events:detail", args=[self.pk])

    @property
    def offers_venue(self) -> bool:
        return self.format in (self.Format.VENUE, self.Format.HYBRID)

    @property
    def offers_online(self) -> bool:
        return self.format in (self.Format.ONLINE, self.Format.HYBRID)

    def capacity_for(self, mode: str):
        return self.venue_capacity if mode == Registration.Mode.VENUE else self.online_capacity

    # --- state rules: views and templates ask these, never the status itself ---

    def can_be_published(self) -> bool:
        return self.status == self.Status.DRAFT

    def can_be_deleted(self) -> bool:
        """A draft nobody has registered for may go altogether (with its
        sessions). Anything that was announced is cancelled instead, so that
        the people who saw it are told. One query."""
        return self.status == self.Status.DRAFT and not self.registrations.exists()

    def can_be_cancelled(self) -> bool:
        """Only a published event is called off (and its registrants told); a
        draft is deleted instead."""
        return self.status == self.Status.PUBLISHED

    def can_be_finished(self, now=None) -> bool:
        now = now or timezone.now()
        return self.status == self.Status.PUBLISHED and self.starts_at <= now

    def awaits_start(self, now=None) -> bool:
        """Published and not begun: too early to finish."""
        now = now or timezone.now()
        return self.status == self.Status.PUBLISHED and self.starts_at > now

    def offers_thanks_mail(self) -> bool:
        """A finished event can send the thanks mail to whoever has not had it
        yet (after check-in records were corrected)."""
        return self.status == self.Status.FINISHED

    def takes_checkin(self) -> bool:
        return self.status == self.Status.PUBLISHED

    def notifies_changes(self) -> bool:
        """Are registrants told when the date, place or online link changes?
        Only while the event is announced and still to be held."""
        return self.status == self.Status.PUBLISHED

    @property
    def is_relay_meeting(self) -> bool:
        """A meeting of the relay series: a 情報交換会 hosted by a 自治体, which
        hands the baton to the next one. Other events may name a host
        organisation (the secretariat's, for the project's own meetings)
        without being part of the relay."""
        host = self.host_organisation
        return (
            self.kind == self.Kind.EXCHANGE
            and host is not None
            and host.kind == Organisation.Kind.MUNICIPALITY
        )

    def takes_attendance_records(self, now=None) -> bool:
        """May attendance be recorded (imported) for this event? Only once it
        has been held: published or finished, and started. A draft, a
        cancelled meeting and one still to come had nobody attend."""
        now = now or timezone.now()
        return (
            self.status in (self.Status.PUBLISHED, self.Status.FINISHED) and self.starts_at <= now
        )


class Session(models.Model):
    """A breakout theme (分科会・テーマ別ディスカッション) with its own capacity."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="sessions")
    title = models.CharField(_("テーマ"), max_length=200)
    description = models.TextField(_("説明"), blank=True)
    capacity = models.PositiveIntegerField(_("定員"), null=True, blank=True)
    order = models.PositiveSmallIntegerField(_("表示順"), default=0)

    class Meta:
        ordering = ["event", "order", "pk"]
        verbose_name = _("分科会")
        verbose_name_plural = _("分科会")

    def __str__(self):
        return self.title


class Registration(models.Model):
    class Mode(models.TextChoices):
        VENUE = "venue", _("会場")
        ONLINE = "online", _("オンライン")

    class Status(models.TextChoices):
        PENDING = "pending", _("メール確認待ち")
        CONFIRMED = "confirmed", _("参加確定")
        WAITLISTED = "waitlisted", _("キャンセル待ち")
        CANCELLED = "cancelled", _("キャンセル")

    class SocialStatus(models.TextChoices):
        NONE = "none", _("参加しない")
        CONFIRMED = "confirmed", _("参加確定")
        WAITLISTED = "waitlisted", _("キャンセル待ち")

    ACTIVE_STATUSES = (Status.PENDING, Status.CONFIRMED, Status.WAITLISTED)

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="registrations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="registrations",
        verbose_name=_("参加者"),
    )
    # The organisation at the time of registering (people move between jobs).
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="registrations",
        verbose_name=_("所属組織"),
    )
    # Free text for public registrants whose organisation is not in the network.
    organisation_name = models.CharField(_("所属（自由記入）"), max_length=200, blank=True)
    mode = models.CharField(_("参加方法"), max_length=10, choices=Mode.choices, default=Mode.VENUE)
    session = models.ForeignKey(
        Session,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="registrations",
        verbose_name=_("分科会"),
    )
    social = models.CharField(
        _("懇親会"), max_length=10, choices=SocialStatus.choices, default=SocialStatus.NONE
    )
    question = models.TextField(_("事前質問（困っていること・知りたいこと）"), blank=True)
    status = models.CharField(
        _("状態"), max_length=12, choices=Status.choices, default=Status.CONFIRMED, db_index=True
    )
    attended = models.BooleanField(_("出席"), default=False)
    attended_at = models.DateTimeField(_("受付日時"), null=True, blank=True)
    # Public registrants confirm by an e-mailed link; only its hash is stored.
    confirmation_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(_("申込日時"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)
    cancelled_at = models.DateTimeField(_("キャンセル日時"), null=True, blank=True)
    # Who last changed or cancelled the registration, when it was not the
    # person (the secretariat acting on their behalf): shown in 申込者.
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("変更した人"),
    )
    changed_at = models.DateTimeField(_("変更日時"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("キャンセルした人"),
    )

    objects = RegistrationQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("参加申込")
        verbose_name_plural = _("参加申込")
        constraints = [
            # One active registration per person per event, enforced by the database
            # so that double clicks and concurrent requests cannot create two.
            models.UniqueConstraint(
                fields=["event", "user"],
                condition=~Q(status="cancelled"),
                name="registration_one_active_per_user",
            ),
        ]
        indexes = [
            models.Index(fields=["event", "status", "mode"], name="reg_event_status_mode"),
            models.Index(fields=["event", "social"], name="reg_event_social"),
            # The dashboard's data version: the latest change per counted meeting.
            models.Index(fields=["event", "updated_at"], name="reg_event_updated"),
        ]

    def __str__(self):
        return f"{self.user} @ {self.event}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def changed_on_behalf(self) -> bool:
        return self.changed_by_id is not None and self.changed_by_id != self.user_id

    @property
    def cancelled_on_behalf(self) -> bool:
        return self.cancelled_by_id is not None and self.cancelled_by_id != self.user_id

    def can_be_changed_by_secretariat(self) -> bool:
        """Mode, session and 懇親会 can be changed while the event is published
        and the registration holds (or waits for) a seat; an unconfirmed guest
        registration is the visitor's to confirm first."""
        return self.event.status == Event.Status.PUBLISHED and self.status in (
            self.Status.CONFIRMED,
            self.Status.WAITLISTED,
        )

    def can_be_cancelled_by_secretariat(self) -> bool:
        return self.event.status == Event.Status.PUBLISHED and self.is_active


class GuestRequest(models.Model):
    """A registration from the public form for an address that already
    belongs to an account, waiting for the link e-mailed to that address.

    Anyone can type any address into the public form, so such a request is
    kept apart from the account: it is no registration of that person, holds
    no seat, appears in no list or count and blocks nothing. Opening the link
    (which proves the mailbox) turns it into the account's registration
    (services.confirm_guest); the account holder registering themselves
    discards it. The fields mirror a pending Registration so that the same
    mail and confirmation page can show it."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="guest_requests")
    email = models.EmailField(_("メールアドレス"))
    full_name = models.CharField(_("氏名"), max_length=80, blank=True)
    full_name_kana = models.CharField(_("氏名（かな）"), max_length=120, blank=True)
    organisation_name = models.CharField(_("所属（自由記入）"), max_length=200, blank=True)
    mode = models.CharField(
        _("参加方法"),
        max_length=10,
        choices=Registration.Mode.choices,
        default=Registration.Mode.VENUE,
    )
    session = models.ForeignKey(
        Session,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("分科会"),
    )
    # As on a pending registration: "waitlisted" = asked for, decided on confirmation.
    social = models.CharField(
        _("懇親会"),
        max_length=10,
        choices=Registration.SocialStatus.choices,
        default=Registration.SocialStatus.NONE,
    )
    question = models.TextField(_("事前質問（困っていること・知りたいこと）"), blank=True)
    confirmation_token_hash = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(_("申込日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    # What the shared mail templates read of a registration.
    status = Registration.Status.PENDING

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("一般申込（確認待ち）")
        verbose_name_plural = _("一般申込（確認待ち）")
        constraints = [
            # Sending the form again replaces the request; never two per address.
            models.UniqueConstraint(Lower("email"), "event", name="guest_request_one_per_address"),
        ]

    def __str__(self):
        return f"{self.email} @ {self.event}"


class CalendarFeed(models.Model):
    """A secret URL serving the events a person registered for (.ics)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("カレンダー配信")
        verbose_name_plural = _("カレンダー配信")

    def __str__(self):
        return str(self.user)

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)
