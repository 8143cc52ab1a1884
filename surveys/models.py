"""Surveys: post-event questionnaires, the annual effect-verification survey
(効果検証アンケート) and ad-hoc ones; invitations, responses and answers."""

import datetime

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import tokens
from core.choices import ChoiceLabels
from events.models import Event
from network.models import Organisation, Region

from .enums import (
    CHOICE_KINDS,
    QuestionAudience,
    QuestionKind,
    RespondentUnit,
    SurveyAudience,
    SurveyKind,
    SurveyState,
    SurveyStatus,
)
from .querysets import InvitationQuerySet, ResponseQuerySet, SurveyQuerySet


def default_reminder_days():
    return [7, 3]


class Survey(ChoiceLabels, models.Model):
    # The choices live in surveys/enums.py (a leaf module); these aliases keep
    # `Survey.Status.PUBLISHED` reading as before.
    Kind = SurveyKind
    Audience = SurveyAudience
    Unit = RespondentUnit
    Status = SurveyStatus
    State = SurveyState

    title = models.CharField(_("タイトル"), max_length=200)
    introduction = models.TextField(_("はじめに"), blank=True)
    kind = models.CharField(_("種類"), max_length=20, choices=Kind.choices, default=Kind.ADHOC)
    event = models.ForeignKey(
        Event,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="surveys",
        verbose_name=_("対象イベント"),
    )
    fiscal_year = models.PositiveSmallIntegerField(_("年度"), db_index=True)
    audience = models.CharField(
        _("対象"), max_length=20, choices=Audience.choices, default=Audience.ALL_ORGANISATIONS
    )
    chosen_organisations = models.ManyToManyField(
        Organisation, blank=True, related_name="+", verbose_name=_("対象の組織")
    )
    respondent_unit = models.CharField(
        _("回答の単位"), max_length=20, choices=Unit.choices, default=Unit.PERSON
    )
    anonymous = models.BooleanField(
        _("匿名"),
        default=False,
        help_text=_("匿名の場合、回答と回答者を結びつける情報は保存しません。"),
    )
    opens_at = models.DateTimeField(_("回答開始"))
    closes_at = models.DateTimeField(_("回答締切"))
    reminder_days = models.JSONField(
        _("リマインドの日程"),
        default=default_reminder_days,
        blank=True,
        help_text=_("締切の何日前にリマインドを送るか（例: 7, 3）"),
    )
    status = models.CharField(
        _("状態"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("作成者"),
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    objects = SurveyQuerySet.as_manager()

    class Meta:
        ordering = ["-opens_at", "-pk"]
        indexes = [
            # The lists page through the surveys newest first: walked in this
            # order, a page reads its 50 rows (and their response counts),
            # not every survey sorted.
            models.Index(fields=["-opens_at", "-id"], name="survey_newest_first"),
        ]
        verbose_name = _("アンケート")
        verbose_name_plural = _("アンケート")

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("surveys:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        now = timezone.now()
        return self.status == SurveyStatus.PUBLISHED and self.opens_at <= now < self.closes_at

    @property
    def is_closed(self) -> bool:
        return timezone.now() >= self.closes_at

    @property
    def not_yet_open(self) -> bool:
        return timezone.now() < self.opens_at

    @property
    def is_draft(self) -> bool:
        return self.status == SurveyStatus.DRAFT

    @property
    def is_published(self) -> bool:
        return self.status == SurveyStatus.PUBLISHED

    @property
    def by_organisation(self) -> bool:
        return self.respondent_unit == RespondentUnit.ORGANISATION

    @property
    def has_chosen_audience(self) -> bool:
        return self.audience == SurveyAudience.CHOSEN

    @property
    def for_event_attendees(self) -> bool:
        return self.audience == SurveyAudience.EVENT_ATTENDEES

    @property
    def is_annual(self) -> bool:
        return self.kind == SurveyKind.ANNUAL

    @property
    def answering_settled(self) -> bool:
        """Once invitations exist, the respondent unit and anonymity stay as
        they are: changing them would mix differently collected answers."""
        return self.invitations.exists()

    def reminder_schedule(self) -> list[tuple[int, datetime.datetime]]:
        """(days before closing, when) of each scheduled reminder."""
        return [
            (day, self.closes_at - datetime.timedelta(days=day)) for day in self.reminder_days or []
        ]

    # --- what the state allows -------------------------------------------------------
    # One rule each, for the views (which refuse), the services (which refuse
    # again, inside their transaction) and the templates (which only show what
    # these allow). tests/test_survey_state_rules.py has the truth table.

    def state_at(self, now: datetime.datetime) -> SurveyState:
        if self.status == SurveyStatus.DRAFT:
            return SurveyState.DRAFT
        if self.closes_at <= now:
            return SurveyState.CLOSED
        if self.opens_at > now:
            return SurveyState.SCHEDULED
        return SurveyState.OPEN

    @property
    def state(self) -> SurveyState:
        return self.state_at(timezone.now())

    @property
    def can_be_edited(self) -> bool:
        """Settings and questions, in every state: a closed survey is reopened by
        moving its deadline (answered questions keep their kind and choices,
        which the question rules in services see to)."""
        return True

    @property
    def can_be_published(self) -> bool:
        """Draft → published. Whether it has questions and a deadline still
        ahead is the publishing service's check, with its own message."""
        return self.state == SurveyState.DRAFT

    @property
    def can_send_invitations(self) -> bool:
        """The publish page sends invitations until the deadline: a draft's
        first ones (by publishing it) or more (「追加の依頼」) to audience members
        new since publishing. Past the deadline — a closed survey, or a draft
        copied with last year's dates — the deadline has to move first."""
        return not self.is_closed

    @property
    def can_send_reminders(self) -> bool:
        return self.state == SurveyState.OPEN

    @property
    def can_be_closed(self) -> bool:
        """Stop taking answers now; a draft has nothing to close."""
        return self.state in (SurveyState.SCHEDULED, SurveyState.OPEN)

    @property
    def can_be_reopened(self) -> bool:
        """A closed survey takes answers again once its deadline moves later
        (the settings page): what the close and publish pages offer."""
        return self.state == SurveyState.CLOSED

    @property
    def can_be_copied(self) -> bool:
        return True

    @property
    def can_be_deleted(self) -> bool:
        """Only a draft: a published survey has sent links and may hold answers."""
        return self.state == SurveyState.DRAFT

    @property
    def can_show_results(self) -> bool:
        """A draft has sent nothing, so it has no results to show (who may read
        a published survey's results, and when, is surveys.access)."""
        return self.state != SurveyState.DRAFT


class Question(models.Model):
    Kind = QuestionKind
    Audience = QuestionAudience

    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="questions", verbose_name=_("アンケート")
    )
    order = models.PositiveSmallIntegerField(_("順番"), default=0)
    # A stable key links the same question across surveys and years
    # (year-over-year comparison of the annual survey), e.g. "useful".
    key = models.SlugField(_("キー"), max_length=50, blank=True)
    text = models.CharField(_("質問"), max_length=300)
    help_text = models.CharField(_("補足"), max_length=300, blank=True)
    kind = models.CharField(_("形式"), max_length=10, choices=Kind.choices)
    required = models.BooleanField(_("必須"), default=False)
    choices = models.JSONField(_("選択肢"), default=list, blank=True)
    allow_other = models.BooleanField(_("「その他」＋自由記入を付ける"), default=False)
    scale_min_label = models.CharField(_("1の意味"), max_length=50, blank=True)
    scale_max_label = models.CharField(_("5の意味"), max_length=50, blank=True)
    audience = models.CharField(
        _("表示対象"), max_length=12, choices=Audience.choices, default=Audience.ALL
    )
    show_if_question = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dependents",
        verbose_name=_("表示条件の質問"),
    )
    show_if_value = models.CharField(_("表示条件の回答"), max_length=200, blank=True)
    # Part of the results' data version (surveys.results.data_version): a
    # changed text, choice, condition or order recomputes the cached results.
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        ordering = ["survey", "order", "pk"]
        verbose_name = _("質問")
        verbose_name_plural = _("質問")

    def __str__(self):
        return self.text

    @property
    def has_choices(self) -> bool:
        return self.kind in CHOICE_KINDS

    @property
    def is_single(self) -> bool:
        return self.kind == QuestionKind.SINGLE

    @property
    def is_multiple(self) -> bool:
        return self.kind == QuestionKind.MULTIPLE

    @property
    def is_scale(self) -> bool:
        return self.kind == QuestionKind.SCALE

    @property
    def is_text(self) -> bool:
        return self.kind == QuestionKind.TEXT

    @property
    def is_number(self) -> bool:
        return self.kind == QuestionKind.NUMBER

    @property
    def for_everyone(self) -> bool:
        return self.audience == QuestionAudience.ALL

    @property
    def for_municipalities(self) -> bool:
        return self.audience == QuestionAudience.MUNICIPAL


OTHER_CHOICE = "その他"


class Invitation(models.Model):
    """One per person or per organisation. The secret link works without a
    login until the response is submitted or the survey closes."""

    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("アンケート")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="survey_invitations",
        verbose_name=_("依頼先の人"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="survey_invitations",
        verbose_name=_("依頼先の組織"),
    )
    email = models.EmailField(_("送信先"))
    token_hash = models.CharField(_("リンクのハッシュ"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    sent_at = models.DateTimeField(_("送信日時"), null=True, blank=True)
    last_reminded_at = models.DateTimeField(_("最終リマインド"), null=True, blank=True)
    reminder_count = models.PositiveSmallIntegerField(_("リマインド回数"), default=0)
    responded_at = models.DateTimeField(_("回答日時"), null=True, blank=True, db_index=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["survey", "pk"]
        verbose_name = _("アンケート依頼")
        verbose_name_plural = _("アンケート依頼")
        # The results' data version reads a survey's latest responded_at
        # (surveys.results.data_version): one index range, not every invitation.
        indexes = [
            models.Index(fields=["survey", "responded_at"], name="invitation_survey_responded")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "user"],
                condition=models.Q(user__isnull=False),
                name="survey_invitation_one_per_user",
            ),
            models.UniqueConstraint(
                fields=["survey", "organisation"],
                condition=models.Q(organisation__isnull=False, user__isnull=True),
                name="survey_invitation_one_per_org",
            ),
        ]

    def __str__(self):
        return f"{self.survey} → {self.email}"

    # The portal's one way to make and hash a link's token (core.tokens).
    hash_token = staticmethod(tokens.hash_token)
    new_token = staticmethod(tokens.new_token)

    @property
    def is_answered(self) -> bool:
        return self.responded_at is not None

    @property
    def can_be_answered(self) -> bool:
        """The link (or the member's page) takes answers now."""
        return self.responded_at is None and self.survey.is_open


class Response(models.Model):
    """A response, draft until submitted. Respondent attributes used for
    cross-tabulation (organisation kind, region, participation) are copied at
    submission, so an anonymous response can be tabulated without keeping who
    gave it: for anonymous surveys `invitation`, `user` and `organisation` are
    cleared on submission."""

    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="responses", verbose_name=_("アンケート")
    )
    invitation = models.OneToOneField(
        Invitation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="response",
        verbose_name=_("アンケート依頼"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="survey_responses",
        verbose_name=_("回答者"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="survey_responses",
        verbose_name=_("回答した組織"),
    )
    organisation_kind = models.CharField(
        _("組織種別"), max_length=20, choices=Organisation.Kind.choices, blank=True
    )
    region = models.ForeignKey(
        Region,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("振興局"),
    )
    participated = models.BooleanField(_("今年度の情報交換会への参加"), null=True, blank=True)
    started_at = models.DateTimeField(_("回答開始"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)
    submitted_at = models.DateTimeField(_("送信日時"), null=True, blank=True, db_index=True)

    objects = ResponseQuerySet.as_manager()

    class Meta:
        ordering = ["survey", "pk"]
        verbose_name = _("回答")
        verbose_name_plural = _("回答")
        indexes = [
            models.Index(fields=["survey", "submitted_at"], name="response_survey_submitted")
        ]

    def __str__(self):
        return f"{self.survey} #{self.pk}"


class Answer(models.Model):
    """One row per answered value: a multiple-choice answer has one row per
    chosen option, so counts are a GROUP BY in the database."""

    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, related_name="answers", verbose_name=_("回答")
    )
    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="answers", verbose_name=_("質問")
    )
    choice = models.CharField(_("選択肢"), max_length=200, blank=True)
    number = models.DecimalField(_("数値"), max_digits=12, decimal_places=2, null=True, blank=True)
    text = models.TextField(_("記述"), blank=True)

    class Meta:
        ordering = ["response", "question", "pk"]
        verbose_name = _("回答内容")
        verbose_name_plural = _("回答内容")
        indexes = [models.Index(fields=["question", "choice"], name="answer_question_choice")]

    def __str__(self):
        return self.choice or self.text[:40] or str(self.number)
