"""The back-up menus (後方支援メニュー, seed part Ⅲ): the catalogue, the member
organisations' applications, the engagements they become and the session
records the partner organisation keeps (counts and hours, never a
beneficiary). docs/support.md."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.choices import ChoiceLabels
from core.enums import SupportFunction
from network.enums import OrganisationKind
from surveys.enums import QuestionKind

from .enums import (
    OPEN_MENU_STATUSES,
    PENDING_STATUSES,
    ApplicationStatus,
    MenuStatus,
    QuestionPurpose,
    SessionMode,
)
from .querysets import ApplicationQuerySet, EngagementQuerySet, MenuQuerySet


class Menu(ChoiceLabels, models.Model):
    """One back-up service the network offers its member organisations."""

    Status = MenuStatus

    number = models.PositiveSmallIntegerField(_("番号"), unique=True)
    name = models.CharField(_("名称"), max_length=100)
    summary = models.CharField(_("概要"), max_length=200)
    description = models.TextField(_("内容"), blank=True)
    functions = models.JSONField(
        _("支援者支援の機能"),
        default=list,
        blank=True,
        help_text=_("このメニューが担う機能の番号（1〜7）の一覧"),
    )
    partners = models.ManyToManyField(
        "network.Organisation",
        blank=True,
        related_name="delivered_menus",
        verbose_name=_("協力団体"),
    )
    eligible_kinds = models.JSONField(
        _("申込できる組織種別"),
        default=list,
        blank=True,
        help_text=_("空のときはすべての種別"),
    )
    eligible_programs = models.ManyToManyField(
        "network.Program",
        blank=True,
        related_name="+",
        verbose_name=_("申込できる事業"),
        help_text=_("選んだときは、そのいずれかを実施する組織だけが申込できます"),
    )
    eligible_regions = models.ManyToManyField(
        "network.Region",
        blank=True,
        related_name="+",
        verbose_name=_("申込できる振興局"),
        help_text=_("選んだときは、その振興局の組織だけが申込できます"),
    )
    slots_per_year = models.PositiveSmallIntegerField(
        _("年度あたりの受入件数"), default=5, validators=[MinValueValidator(1)]
    )
    status = models.CharField(
        _("状態"), max_length=10, choices=Status.choices, default=Status.TRIAL
    )
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    objects = MenuQuerySet.as_manager()

    class Meta:
        ordering = ["number"]
        verbose_name = _("後方支援メニュー")
        verbose_name_plural = _("後方支援メニュー")

    def __str__(self):
        return f"{self.circled_number} {self.name}"

    def get_absolute_url(self):
        return reverse("support:menu", args=[self.number])

    @property
    def circled_number(self) -> str:
        """①…⑳ as the seed writes them."""
        if 1 <= self.number <= 20:
            return chr(0x2460 + self.number - 1)
        return f"({self.number})"

    def function_labels(self) -> list[str]:
        labels = dict(SupportFunction.choices)
        return [str(labels[n]) for n in self.functions if n in labels]

    def kind_labels(self) -> list[str]:
        labels = dict(OrganisationKind.choices)
        return [str(labels[k]) for k in self.eligible_kinds if k in labels]

    def application_questions(self):
        return self.questions.filter(purpose=QuestionPurpose.APPLICATION)

    def outcome_questions(self):
        return self.questions.filter(purpose=QuestionPurpose.OUTCOME)

    @property
    def slots_left(self) -> int:
        """Needs Menu.objects.with_slots_taken(fiscal_year)."""
        return max(self.slots_per_year - self.slots_taken, 0)

    def takes_applications(self) -> bool:
        return self.status in OPEN_MENU_STATUSES

    def refusal_for(self, organisation) -> str:
        """Why `organisation` may not apply for this menu ("" when it may).
        Reads the menu's eligible programs and regions and the organisation's
        programs: prefetch them when asking for many."""
        if not self.takes_applications():
            return str(_("このメニューは申込を受け付けていません。"))
        if not organisation.is_active:
            return str(_("この組織は現在登録が無効です。"))
        if self.eligible_kinds and organisation.kind not in self.eligible_kinds:
            return str(_("この組織の種別では申込できません（対象: %(kinds)s）。")) % {
                "kinds": "・".join(self.kind_labels())
            }
        regions = {region.pk for region in self.eligible_regions.all()}
        if regions and organisation.region_id not in regions:
            return str(_("この組織の振興局は対象外です。"))
        programs = {program.pk for program in self.eligible_programs.all()}
        if programs and not programs & {p.pk for p in organisation.programs.all()}:
            return str(_("対象の事業を実施している組織だけが申込できます。"))
        return ""


class MenuQuestion(ChoiceLabels, models.Model):
    """A question the menu's application asks, or a structured field of its
    outcome report. The kinds are the surveys' question kinds."""

    Purpose = QuestionPurpose
    Kind = QuestionKind

    menu = models.ForeignKey(
        Menu, on_delete=models.CASCADE, related_name="questions", verbose_name=_("メニュー")
    )
    purpose = models.CharField(_("用途"), max_length=12, choices=Purpose.choices)
    order = models.PositiveSmallIntegerField(_("順番"), default=0)
    key = models.SlugField(
        _("キー"), max_length=50, help_text=_("集計で使う半角英数字の名前（例: windows_opened）")
    )
    text = models.CharField(_("質問"), max_length=300)
    help_text = models.CharField(_("補足"), max_length=300, blank=True)
    kind = models.CharField(_("形式"), max_length=10, choices=Kind.choices)
    required = models.BooleanField(_("必須"), default=False)
    choices = models.JSONField(_("選択肢"), default=list, blank=True)

    class Meta:
        ordering = ["menu", "purpose", "order", "pk"]
        verbose_name = _("メニューの質問")
        verbose_name_plural = _("メニューの質問")
        constraints = [
            models.UniqueConstraint(
                fields=["menu", "purpose", "key"], name="support_question_key_unique"
            )
        ]

    def __str__(self):
        return self.text


class Application(ChoiceLabels, models.Model):
    """利用申込: a member organisation asks for one menu."""

    Status = ApplicationStatus

    menu = models.ForeignKey(
        Menu, on_delete=models.PROTECT, related_name="applications", verbose_name=_("メニュー")
    )
    organisation = models.ForeignKey(
        "network.Organisation",
        on_delete=models.PROTECT,
        related_name="support_applications",
        verbose_name=_("申込組織"),
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("申込者"),
    )
    fiscal_year = models.PositiveSmallIntegerField(_("年度"), db_index=True)
    need = models.TextField(_("困っていること・希望する支援"))
    wanted_by = models.DateField(_("希望する時期"), null=True, blank=True)
    contact_name = models.CharField(_("連絡担当者"), max_length=100)
    contact_email = models.EmailField(_("連絡先メール"))
    contact_phone = models.CharField(_("連絡先電話"), max_length=30, blank=True)
    answers = models.JSONField(_("質問への回答"), default=dict, blank=True)
    status = models.CharField(
        _("状態"),
        max_length=10,
        choices=Status.choices,
        default=Status.SUBMITTED,
        db_index=True,
    )
    status_reason = models.TextField(
        _("理由"), blank=True, help_text=_("保留・見送りの理由。申込組織に表示されます。")
    )
    submitted_at = models.DateTimeField(_("申込日時"), default=timezone.now)
    decided_at = models.DateTimeField(_("決定日時"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        verbose_name = _("利用申込")
        verbose_name_plural = _("利用申込")
        indexes = [
            models.Index(fields=["menu", "fiscal_year", "status"], name="support_app_slots"),
            models.Index(fields=["organisation", "-submitted_at"], name="support_app_org"),
        ]

    def __str__(self):
        return f"{self.menu} — {self.organisation}"

    def get_absolute_url(self):
        return reverse("support:application", args=[self.pk])

    # --- what the status allows (tests/test_support_state_rules.py) ---

    def is_pending(self) -> bool:
        return self.status in PENDING_STATUSES

    def can_accept(self) -> bool:
        return self.is_pending()

    def can_hold(self) -> bool:
        return self.status == ApplicationStatus.SUBMITTED

    def can_decline(self) -> bool:
        return self.is_pending()

    def can_withdraw(self) -> bool:
        return self.is_pending()

    def is_declined(self) -> bool:
        return self.status == ApplicationStatus.DECLINED

    def shows_reason(self) -> bool:
        """The applicant sees why it was put on hold or declined."""
        return bool(self.status_reason) and self.status in (
            ApplicationStatus.ON_HOLD,
            ApplicationStatus.DECLINED,
        )


class ApplicationUpdate(models.Model):
    """The history of an application: every status change, by whom and when.
    Each row is mailed to the applicant once (notifications.status_key)."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="updates", verbose_name=_("利用申込")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("記入者"),
    )
    old_status = models.CharField(_("変更前の状態"), max_length=10, blank=True)
    new_status = models.CharField(_("変更後の状態"), max_length=10)
    note = models.TextField(_("メモ"), blank=True)
    created_at = models.DateTimeField(_("日時"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("申込の経過")
        verbose_name_plural = _("申込の経過")

    def __str__(self):
        return f"{self.application_id}: {self.old_status} → {self.new_status}"

    def new_status_label(self) -> str:
        return str(dict(ApplicationStatus.choices).get(self.new_status, self.new_status))


class Engagement(models.Model):
    """An accepted application: the partner organisation that delivers it, the
    secretariat's coordinator, the session records and, at the end, the
    outcome report and the follow-up survey."""

    application = models.OneToOneField(
        Application,
        on_delete=models.CASCADE,
        related_name="engagement",
        verbose_name=_("利用申込"),
    )
    partner = models.ForeignKey(
        "network.Organisation",
        on_delete=models.PROTECT,
        related_name="support_engagements",
        verbose_name=_("担当する協力団体"),
    )
    coordinator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("事務局の調整担当"),
    )
    accepted_at = models.DateTimeField(_("受理日時"), default=timezone.now)
    started_on = models.DateField(_("開始日"), null=True, blank=True)
    completed_at = models.DateTimeField(_("完了日時"), null=True, blank=True)
    outcome_answers = models.JSONField(_("成果報告の項目"), default=dict, blank=True)
    outcome_text = models.TextField(_("成果と今後"), blank=True)
    follow_up_survey = models.ForeignKey(
        "surveys.Survey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("事後アンケート"),
    )

    objects = EngagementQuerySet.as_manager()

    class Meta:
        ordering = ["-accepted_at", "-pk"]
        verbose_name = _("支援の実施")
        verbose_name_plural = _("支援の実施")

    def __str__(self):
        return str(self.application)

    def get_absolute_url(self):
        return reverse("support:engagement", args=[self.pk])

    def is_open(self) -> bool:
        return self.application.status == ApplicationStatus.ACCEPTED

    def can_record(self) -> bool:
        return self.is_open()

    def can_complete(self, session_count: int) -> bool:
        return self.is_open() and session_count > 0

    def is_completed(self) -> bool:
        return self.application.status == ApplicationStatus.COMPLETED


HOURS = {
    "max_digits": 6,
    "decimal_places": 2,
    "validators": [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("999"))],
}


class EngagementSession(ChoiceLabels, models.Model):
    """支援記録: one session of an engagement — when, how long, how, what was
    done and what comes next, and the hours it took. Counts and hours only:
    no beneficiary is recorded, and the free texts pass the privacy guard."""

    Mode = SessionMode

    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="sessions", verbose_name=_("支援の実施")
    )
    held_on = models.DateField(_("実施日"))
    duration_minutes = models.PositiveIntegerField(
        _("所要時間（分）"), validators=[MinValueValidator(1), MaxValueValidator(24 * 60)]
    )
    mode = models.CharField(_("方法"), max_length=10, choices=Mode.choices)
    done = models.TextField(_("実施内容"))
    next_steps = models.TextField(_("次の予定"), blank=True)
    partner_hours = models.DecimalField(_("協力団体の従事時間"), **HOURS)
    secretariat_hours = models.DecimalField(_("事務局の調整時間"), default=Decimal("0"), **HOURS)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("記録者"),
    )
    created_at = models.DateTimeField(_("記録日時"), auto_now_add=True)

    class Meta:
        ordering = ["held_on", "pk"]
        verbose_name = _("支援記録")
        verbose_name_plural = _("支援記録")

    def __str__(self):
        return f"{self.engagement_id} {self.held_on}"
