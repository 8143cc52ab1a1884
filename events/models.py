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

from core import privacy
from core.choices import ChoiceLabels
from network.enums import OrganisationKind
from network.models import Municipality, Organisation, Program

from .enums import (
    ACTIVE_REGISTRATION_STATUSES,
    ANNOUNCED_EVENT_STATUSES,
    DECIDED_REGISTRATION_STATUSES,
    EventAudience,
    EventFormat,
    EventKind,
    EventStatus,
    RegistrationMode,
    RegistrationStatus,
    RegistrationWindow,
    SocialStatus,
)
from .querysets import EventQuerySet, RegistrationQuerySet


class Event(ChoiceLabels, models.Model):
    # The choices live in events/enums.py; these names are kept for callers.
    Kind = EventKind
    Format = EventFormat
    Audience = EventAudience
    Status = EventStatus

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

    @property
    def is_hybrid(self) -> bool:
        return self.format == self.Format.HYBRID

    def offered_modes(self) -> set[str]:
        """The registration modes this event's format offers."""
        modes = set()
        if self.offers_venue:
            modes.add(RegistrationMode.VENUE)
        if self.offers_online:
            modes.add(RegistrationMode.ONLINE)
        return modes

    def default_mode(self) -> str:
        """The mode of a record that names none (an imported row): online for an
        online-only event, otherwise the venue."""
        return RegistrationMode.VENUE if self.offers_venue else RegistrationMode.ONLINE

    def capacity_for(self, mode: str):
        return self.venue_capacity if mode == RegistrationMode.VENUE else self.online_capacity

    def seats_left(self, venue_taken: int, online_taken: int) -> list[tuple[str, int]]:
        """(label, seats left) for each mode the event offers with a capacity."""
        seats = []
        if self.offers_venue and self.venue_capacity is not None:
            seats.append((_("会場"), max(self.venue_capacity - venue_taken, 0)))
        if self.offers_online and self.online_capacity is not None:
            seats.append((_("オンライン"), max(self.online_capacity - online_taken, 0)))
        return seats

    def social_seats_left(self, taken: int) -> int | None:
        """Seats left at the 懇親会 (None: no 懇親会, or no limit)."""
        if not self.has_social or self.social_capacity is None:
            return None
        return max(self.social_capacity - taken, 0)

    @property
    def number_label(self) -> str:
        """第N回, unless the title already says it (imported titles often do)."""
        if not self.number:
            return ""
        label = _("第%(n)d回") % {"n": self.number}
        return "" if label in self.title else label

    # --- the audience ---------------------------------------------------------------

    @property
    def is_public(self) -> bool:
        """Open to everyone, also people without an account (the public form)."""
        return self.audience == self.Audience.PUBLIC

    @property
    def is_for_all_members(self) -> bool:
        return self.audience == self.Audience.MEMBERS

    @property
    def is_for_a_program(self) -> bool:
        return self.audience == self.Audience.PROGRAM

    # --- the status -----------------------------------------------------------------

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED

    @property
    def is_finished(self) -> bool:
        return self.status == self.Status.FINISHED

    def has_started(self, now=None) -> bool:
        return self.starts_at <= (now or timezone.now())

    def is_over(self, now=None) -> bool:
        """Finished, or past its end (whatever the secretariat has marked yet)."""
        return self.is_finished or self.ends_at < (now or timezone.now())

    # --- state rules: the one place that decides what an event's status allows.
    # Views ask them to refuse, templates to show; no code reads the status for
    # this itself. tests/test_event_state_rules.py is the truth table.

    def can_be_published(self) -> bool:
        return self.is_draft

    def can_be_deleted(self) -> bool:
        """A draft nobody has registered for may go altogether (with its
        sessions). Anything that was announced is cancelled instead, so that
        the people who saw it are told. One query, or none on a list that
        annotated `has_registrations` (filters_manage.with_registration_counts)."""
        if not self.is_draft:
            return False
        has_registrations = getattr(self, "has_registrations", None)
        if has_registrations is None:
            has_registrations = self.registrations.exists()
        return not has_registrations

    def can_be_cancelled(self) -> bool:
        """Only a published event is called off (and its registrants told); a
        draft is deleted instead."""
        return self.is_published

    def can_be_finished(self, now=None) -> bool:
        return self.is_published and self.has_started(now)

    def awaits_start(self, now=None) -> bool:
        """Published and not begun: too early to finish."""
        return self.is_published and not self.has_started(now)

    def can_send_thanks(self) -> bool:
        """A finished event can send the thanks mail to whoever has not had it
        yet (after check-in records were corrected)."""
        return self.is_finished

    def can_check_in(self) -> bool:
        """受付 on the day, and its corrections afterwards (before the thanks
        mail goes to whoever has not had it). A draft and a cancelled event
        had nobody attend."""
        return self.status in ANNOUNCED_EVENT_STATUSES

    def can_send_bulk_message(self) -> bool:
        """The registrants of an announced event may be written to, also after
        it was cancelled or held; a draft has nobody to write to."""
        return not self.is_draft

    def can_add_registrations(self) -> bool:
        """The secretariat registers people (and changes or cancels their
        registrations on their behalf) while the event is published, at any
        time of its registration window and on the day."""
        return self.is_published

    def registration_window(self, now=None) -> RegistrationWindow:
        """Whether members and the public may register (and change their
        registration) now: published, not ended, within the opening and closing
        times. Without a closing time registration stays open until the meeting ends."""
        now = now or timezone.now()
        if not self.is_published or self.ends_at <= now:
            return RegistrationWindow.CLOSED
        if self.registration_opens_at and now < self.registration_opens_at:
            return RegistrationWindow.NOT_YET
        if self.registration_closes_at and now >= self.registration_closes_at:
            return RegistrationWindow.CLOSED
        return RegistrationWindow.OPEN

    def can_take_registrations(self, now=None) -> bool:
        return self.registration_window(now) == RegistrationWindow.OPEN

    def notifies_changes(self) -> bool:
        """Are registrants told when the date, place or online link changes?
        Only while the event is announced and still to be held."""
        return self.is_published

    def takes_attendance_records(self, now=None) -> bool:
        """May attendance be recorded (imported) for this event? Only once it
        has been held: published or finished, and started. A draft, a
        cancelled meeting and one still to come had nobody attend."""
        return self.status in ANNOUNCED_EVENT_STATUSES and self.has_started(now)

    def is_still_to_be_held(self, now=None) -> bool:
        """Announced and not over: people may still come (the seats left, the
        registration box and the online notice are shown; a registrant may
        still withdraw)."""
        return self.is_published and not self.is_over(now)

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
            and host.kind == OrganisationKind.MUNICIPALITY
        )


class Session(models.Model):
    """A breakout theme (分科会・テーマ別ディスカッション) with its own capacity."""

    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="sessions", verbose_name=_("イベント")
    )
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

    @property
    def seats_left(self) -> int | None:
        """Seats left, on a session annotated with its confirmed count
        (`taken`, forms.sessions_with_seats); None without a limit."""
        if self.capacity is None:
            return None
        return max(self.capacity - self.taken, 0)


class RegistrationState(ChoiceLabels):
    """What a registration's (or a guest request's) status, mode and 懇親会
    say, for code and templates (`registration.is_confirmed`), so that nothing
    compares the stored strings."""

    @property
    def is_pending(self) -> bool:
        return self.status == RegistrationStatus.PENDING

    @property
    def is_confirmed(self) -> bool:
        return self.status == RegistrationStatus.CONFIRMED

    @property
    def is_waitlisted(self) -> bool:
        return self.status == RegistrationStatus.WAITLISTED

    @property
    def is_cancelled(self) -> bool:
        return self.status == RegistrationStatus.CANCELLED

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_REGISTRATION_STATUSES

    @property
    def is_online(self) -> bool:
        return self.mode == RegistrationMode.ONLINE

    @property
    def is_venue(self) -> bool:
        return self.mode == RegistrationMode.VENUE

    @property
    def wants_social(self) -> bool:
        """Asked for the 懇親会 (confirmed there or waiting for a place)."""
        return self.social != SocialStatus.NONE

    @property
    def has_social_seat(self) -> bool:
        return self.social == SocialStatus.CONFIRMED

    @property
    def is_social_waitlisted(self) -> bool:
        return self.social == SocialStatus.WAITLISTED

    def set_question(self, text: str) -> None:
        """The 事前質問, with whether the privacy guard finds something in it
        (the form made its author rewrite it or confirm it is not about a real
        person; committee.access keeps a flagged one from the committee)."""
        self.question = (text or "").strip()
        self.question_flagged = bool(privacy.find(self.question))


class Registration(RegistrationState, models.Model):
    # The choices live in events/enums.py; these names are kept for callers.
    Mode = RegistrationMode
    Status = RegistrationStatus
    SocialStatus = SocialStatus

    ACTIVE_STATUSES = ACTIVE_REGISTRATION_STATUSES

    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="registrations", verbose_name=_("イベント")
    )
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
    # core.privacy found something in the question and its author confirmed it
    # anyway: the committee does not read it until the secretariat raises it.
    question_flagged = models.BooleanField(_("事前質問に要確認の内容"), default=False)
    status = models.CharField(
        _("状態"), max_length=12, choices=Status.choices, default=Status.CONFIRMED, db_index=True
    )
    attended = models.BooleanField(_("出席"), default=False)
    attended_at = models.DateTimeField(_("受付日時"), null=True, blank=True)
    # Public registrants confirm by an e-mailed link; only its hash is stored.
    confirmation_token_hash = models.CharField(
        _("確認リンクのハッシュ"), max_length=64, blank=True, db_index=True
    )
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
                condition=~Q(status=RegistrationStatus.CANCELLED),
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
    def changed_on_behalf(self) -> bool:
        return self.changed_by_id is not None and self.changed_by_id != self.user_id

    @property
    def cancelled_on_behalf(self) -> bool:
        return self.cancelled_by_id is not None and self.cancelled_by_id != self.user_id

    # --- state rules (with the event's): who may change or cancel it now ---------

    def can_be_changed_by_secretariat(self) -> bool:
        """Mode, session and 懇親会 can be changed while the event is published
        and the registration holds (or waits for) a seat; an unconfirmed guest
        registration is the visitor's to confirm first."""
        return self.event.can_add_registrations() and self.status in DECIDED_REGISTRATION_STATUSES

    def can_be_cancelled_by_secretariat(self) -> bool:
        return self.event.can_add_registrations() and self.is_active

    def can_be_changed_by_owner(self, now=None) -> bool:
        """The person changes mode, session or 懇親会 themselves within the
        registration window (an unconfirmed guest registration is confirmed
        first)."""
        return self.status in DECIDED_REGISTRATION_STATUSES and self.event.can_take_registrations(
            now
        )

    def can_be_cancelled_by_owner(self, now=None) -> bool:
        """The person withdraws until the meeting is over, also after the
        registration window closed."""
        return self.is_active and self.event.is_still_to_be_held(now)

    def waitlist_position(self) -> int | None:
        """1 for the first in line, None when not waiting (one query)."""
        if not self.is_waitlisted:
            return None
        return Registration.objects.waiting_ahead_of(self).count() + 1


class RegistrationSearchKey(models.Model):
    """One word a registration is found by on the check-in page, folded by
    core.text.fold (kana as hiragana, NFKC width, lower case, no spaces) and
    matched by prefix: each suffix of the person's name and kana, the e-mail
    and its parts, the organisation's name and kana at the time of
    registering (docs/events.md, Check-in search). The event is repeated here
    so that the index (event, key) finds one event's matches without reading
    its other registrations; events.search keeps the rows current."""

    MAX_LENGTH = 64

    registration = models.ForeignKey(
        Registration,
        on_delete=models.CASCADE,
        related_name="search_keys",
        verbose_name=_("参加申込"),
    )
    # (event, key) leads with the event: a separate index on it would repeat that one.
    event = models.ForeignKey(
        Event,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        verbose_name=_("イベント"),
    )
    key = models.CharField(_("検索キー"), max_length=MAX_LENGTH)

    class Meta:
        verbose_name = _("受付検索キー")
        verbose_name_plural = _("受付検索キー")
        indexes = [
            # PostgreSQL serves LIKE 'abc%' from a btree only with a pattern
            # operator class (the database's collation may not be "C");
            # SQLite ignores opclasses and is searched by a range instead.
            models.Index(
                fields=["event", "key"],
                opclasses=["int8_ops", "varchar_pattern_ops"],
                name="regkey_event_key",
            ),
        ]

    def __str__(self):
        return self.key


class GuestRequest(RegistrationState, models.Model):
    """A registration from the public form for an address that already
    belongs to an account, waiting for the link e-mailed to that address.

    Anyone can type any address into the public form, so such a request is
    kept apart from the account: it is no registration of that person, holds
    no seat, appears in no list or count and blocks nothing. Opening the link
    (which proves the mailbox) turns it into the account's registration
    (services.confirm_guest); the account holder registering themselves
    discards it. The fields mirror a pending Registration so that the same
    mail and confirmation page can show it."""

    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="guest_requests", verbose_name=_("イベント")
    )
    email = models.EmailField(_("メールアドレス"))
    full_name = models.CharField(_("氏名"), max_length=80, blank=True)
    full_name_kana = models.CharField(_("氏名（かな）"), max_length=120, blank=True)
    organisation_name = models.CharField(_("所属（自由記入）"), max_length=200, blank=True)
    mode = models.CharField(
        _("参加方法"),
        max_length=10,
        choices=RegistrationMode.choices,
        default=RegistrationMode.VENUE,
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
        choices=SocialStatus.choices,
        default=SocialStatus.NONE,
    )
    question = models.TextField(_("事前質問（困っていること・知りたいこと）"), blank=True)
    # core.privacy found something in the question and its author confirmed it
    # anyway: the committee does not read it until the secretariat raises it.
    question_flagged = models.BooleanField(_("事前質問に要確認の内容"), default=False)
    confirmation_token_hash = models.CharField(
        _("確認リンクのハッシュ"), max_length=64, db_index=True
    )
    created_at = models.DateTimeField(_("申込日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    # What the shared mail templates read of a registration.
    status = RegistrationStatus.PENDING

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
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="calendar_feed",
        verbose_name=_("利用者"),
    )
    token = models.CharField(_("配信URLのトークン"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("カレンダー配信")
        verbose_name_plural = _("カレンダー配信")

    def __str__(self):
        return str(self.user)

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)


# --- the dashboard's tallies ---------------------------------------------------------
#
# Derived rows, kept by events/tallies.py in the same transaction as every write
# that changes who counts as present at an exchange meeting, so that the
# committee dashboard (committee.participation) reads a few small tables instead
# of aggregating registrations on a page view. Nothing else writes them;
# docs/committee.md ("Summaries") says what each holds and why.


class TalliedEvent(models.Model):
    """An exchange meeting the tallies cover (published or finished), with the
    attributes its rows were computed from — the dashboard refreshes an event
    whose attributes changed behind the services' back — and the modes in
    which check-in was used (present_q's per-mode rule)."""

    event = models.OneToOneField(
        Event,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="tally",
        verbose_name=_("イベント"),
    )
    # None until the first computation.
    fiscal_year = models.PositiveSmallIntegerField(_("年度"), null=True)
    finished = models.BooleanField(_("終了"), null=True)
    starts_at = models.DateTimeField(_("開始日時"), null=True)
    venue_checkin = models.BooleanField(_("会場で受付を使用"), default=False)
    online_checkin = models.BooleanField(_("オンラインで受付を使用"), default=False)
    # Raised by every refresh that changed a figure: the dashboard's data
    # version sums it (a sum grows with every commit, whatever their order).
    revision = models.PositiveIntegerField(_("改訂"), default=0)

    class Meta:
        verbose_name = _("集計対象の情報交換会")
        verbose_name_plural = _("集計対象の情報交換会")

    def __str__(self):
        return str(self.event_id)


class EventTally(models.Model):
    """Who came to a tallied event, per organisation kind ("" = without an
    organisation): persons, distinct organisations, and the organisation
    itself when only one came (the seed names the one 国 organisation)."""

    event = models.ForeignKey(
        TalliedEvent, on_delete=models.CASCADE, related_name="kinds", verbose_name=_("イベント")
    )
    organisation_kind = models.CharField(_("組織の種別"), max_length=20, blank=True)
    persons = models.PositiveIntegerField(_("人数"))
    organisations = models.PositiveIntegerField(_("機関数"))
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
        verbose_name=_("ただ一つの組織"),
    )

    class Meta:
        verbose_name = _("イベント別・種別の参加集計")
        verbose_name_plural = _("イベント別・種別の参加集計")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "organisation_kind"], name="event_tally_one_per_kind"
            ),
        ]

    def __str__(self):
        return f"{self.event_id} {self.organisation_kind}"


class TalliedPresence(models.Model):
    """A registration counted as present at a tallied event (present_q), with
    its person and organisation: what the per-年度 rows below are recomputed
    from when a refresh changes it. The organisation is a plain id (no
    constraint): a deleted organisation is still named here, so the
    dashboard finds the events to refresh."""

    registration = models.OneToOneField(
        Registration,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
        verbose_name=_("参加申込"),
    )
    event = models.ForeignKey(
        TalliedEvent, on_delete=models.CASCADE, related_name="presences", verbose_name=_("イベント")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("参加者"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
        verbose_name=_("所属組織"),
    )

    class Meta:
        verbose_name = _("集計上の出席")
        verbose_name_plural = _("集計上の出席")

    def __str__(self):
        return str(self.registration_id)


class PersonYearTally(models.Model):
    """A person present at a tallied event of the 年度: at a finished one, and
    the earliest start among the published ones — a published meeting counts
    once it has started, so "came in the 年度" is decided on reading, with
    the time of reading (distinct persons are not a sum of per-event rows)."""

    fiscal_year = models.PositiveSmallIntegerField(_("年度"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("参加者"),
    )
    finished = models.BooleanField(_("終了した会に出席"))
    first_published = models.DateTimeField(_("公開中の会の最初の開始"), null=True)

    class Meta:
        verbose_name = _("年度別・個人の参加集計")
        verbose_name_plural = _("年度別・個人の参加集計")
        constraints = [
            models.UniqueConstraint(fields=["fiscal_year", "user"], name="person_tally_one_a_year"),
        ]
        indexes = [
            # The distinct persons of a 年度: a count over this index alone.
            models.Index(
                fields=["fiscal_year", "finished", "first_published"], name="person_tally_count"
            ),
        ]

    def __str__(self):
        return f"{self.fiscal_year} {self.user_id}"


class OrganisationYearTally(models.Model):
    """An organisation present at tallied events of the 年度 (distinct events
    are not a sum of per-event rows): how many finished ones and the first
    start among them, the two earliest starts among the published ones (it
    came twice once two have started), and its kind when tallied (the
    dashboard refreshes the events of an organisation whose kind changed)."""

    fiscal_year = models.PositiveSmallIntegerField(_("年度"))
    # Never empty; nullable so that reads join the organisation LEFT: the row
    # of a deleted organisation (no constraint) is still read, and refreshed.
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
        verbose_name=_("組織"),
    )
    kind = models.CharField(_("集計時の種別"), max_length=20)
    finished = models.PositiveIntegerField(_("終了した会の数"))
    first_finished = models.DateTimeField(_("終了した会の最初の開始"), null=True)
    first_published = models.DateTimeField(_("公開中の会の最初の開始"), null=True)
    second_published = models.DateTimeField(_("公開中の会の二番目の開始"), null=True)

    class Meta:
        verbose_name = _("年度別・組織の参加集計")
        verbose_name_plural = _("年度別・組織の参加集計")
        constraints = [
            models.UniqueConstraint(
                fields=["fiscal_year", "organisation"], name="organisation_tally_one_a_year"
            ),
        ]
        indexes = [
            # "Came before": an organisation's earlier 年度.
            models.Index(fields=["organisation", "fiscal_year"], name="organisation_tally_years"),
        ]

    def __str__(self):
        return f"{self.fiscal_year} {self.organisation_id}"
