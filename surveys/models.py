"""Surveys: post-event questionnaires, the annual effect-verification survey
(効果検証アンケート) and ad-hoc ones; invitations, responses and answers."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from events.models import Event
from network.models import Organisation, Region

from .querysets import InvitationQuerySet, ResponseQuerySet, SurveyQuerySet


def default_reminder_days():
    return [7, 3]


class Survey(models.Model):
    class Kind(models.TextChoices):
        POST_EVENT = "post_event", _("イベント後アンケート")
        ANNUAL = "annual", _("年次アンケート（効果検証）")
        ADHOC = "adhoc", _("その他のアンケート")

    class Audience(models.TextChoices):
        EVENT_ATTENDEES = "event_attendees", _("イベントの参加者")
        ALL_ORGANISATIONS = "all_organisations", _("すべての参加組織")
        MUNICIPAL = "municipal", _("自治体のみ")
        CONTRACTOR = "contractor", _("受託団体のみ")
        CHOSEN = "chosen", _("選んだ組織")

    class Unit(models.TextChoices):
        PERSON = "person", _("個人")
        ORGANISATION = "organisation", _("組織（1組織1回答）")

    class Status(models.TextChoices):
        DRAFT = "draft", _("下書き")
        PUBLISHED = "published", _("公開")

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
        verbose_name = _("アンケート")
        verbose_name_plural = _("アンケート")

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("surveys:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        now = timezone.now()
        return self.status == self.Status.PUBLISHED and self.opens_at <= now < self.closes_at

    @property
    def is_closed(self) -> bool:
        return timezone.now() >= self.closes_at

    @property
    def by_organisation(self) -> bool:
        return self.respondent_unit == self.Unit.ORGANISATION


class Question(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", _("単一選択")
        MULTIPLE = "multiple", _("複数選択")
        SCALE = "scale", _("5段階評価")
        TEXT = "text", _("自由記述")
        NUMBER = "number", _("数値")

    class Audience(models.TextChoices):
        ALL = "all", _("全員")
        MUNICIPAL = "municipal", _("自治体のみ")
        CONTRACTOR = "contractor", _("受託団体・支援団体のみ")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
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

    class Meta:
        ordering = ["survey", "order", "pk"]
        verbose_name = _("質問")
        verbose_name_plural = _("質問")

    def __str__(self):
        return self.text

    @property
    def has_choices(self) -> bool:
        return self.kind in (self.Kind.SINGLE, self.Kind.MULTIPLE)


OTHER_CHOICE = "その他"


class Invitation(models.Model):
    """One per person or per organisation. The secret link works without a
    login until the response is submitted or the survey closes."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="survey_invitations",
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="survey_invitations",
    )
    email = models.EmailField(_("送信先"))
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
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

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def new_token(cls) -> tuple[str, str]:
        token = secrets.token_urlsafe(32)
        return token, cls.hash_token(token)


class Response(models.Model):
    """A response, draft until submitted. Respondent attributes used for
    cross-tabulation (organisation kind, region, participation) are copied at
    submission, so an anonymous response can be tabulated without keeping who
    gave it: for anonymous surveys `invitation`, `user` and `organisation` are
    cleared on submission."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    invitation = models.OneToOneField(
        Invitation, on_delete=models.SET_NULL, null=True, blank=True, related_name="response"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="survey_responses",
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="survey_responses",
    )
    organisation_kind = models.CharField(
        _("組織種別"), max_length=20, choices=Organisation.Kind.choices, blank=True
    )
    region = models.ForeignKey(
        Region, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
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

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
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


class Need(models.Model):
    """A need (課題) raised in the field, triaged into one of the seven
    functions of 支援者支援 and followed to a result (seed: (1)→(3), then (4)–(7))."""

    class Function(models.IntegerChoices):
        NETWORK = 1, _("1 情報共有ネットワーク構築")
        NEEDS = 2, _("2 ニーズ把握")
        POLICY = 3, _("3 論点整理・政策提言")
        TRAINING = 4, _("4 人材育成")
        SUPERVISION = 5, _("5 支援者向けスーパーバイズ")
        KNOWHOW = 6, _("6 ノウハウ提供")
        RESOURCES = 7, _("7 社会資源の開拓")

    class Status(models.TextChoices):
        NEW = "new", _("新規")
        SORTING = "sorting", _("整理中")
        IN_PROGRESS = "in_progress", _("対応中")
        PROPOSED = "proposed", _("提言済")
        RESOLVED = "resolved", _("解決")
        CLOSED = "closed", _("終了")

    class Source(models.TextChoices):
        REGISTRATION = "registration", _("情報交換会の事前質問")
        ANSWER = "answer", _("アンケートの自由記述")
        TOPIC = "topic", _("掲示板の相談")
        MANUAL = "manual", _("手入力")

    title = models.CharField(_("件名"), max_length=200)
    text = models.TextField(_("内容"))
    source = models.CharField(
        _("出どころ"), max_length=20, choices=Source.choices, default=Source.MANUAL
    )
    source_registration = models.ForeignKey(
        "events.Registration",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="needs",
        verbose_name=_("事前質問の申込"),
    )
    source_answer = models.ForeignKey(
        Answer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="needs",
        verbose_name=_("アンケートの回答"),
    )
    # The board (network Topic) arrives with a later issue; until then a topic
    # need keeps its link as text.
    source_reference = models.CharField(_("出どころの参照"), max_length=300, blank=True)
    event = models.ForeignKey(
        Event,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="needs",
        verbose_name=_("関連イベント"),
    )
    fiscal_year = models.PositiveSmallIntegerField(_("年度"), db_index=True)
    function = models.PositiveSmallIntegerField(
        _("機能"), choices=Function.choices, null=True, blank=True, db_index=True
    )
    status = models.CharField(
        _("状態"), max_length=12, choices=Status.choices, default=Status.NEW, db_index=True
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_needs",
        verbose_name=_("担当者"),
    )
    due_date = models.DateField(_("期限"), null=True, blank=True)
    notes = models.TextField(_("メモ"), blank=True)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="raised_needs",
        verbose_name=_("登録者"),
    )
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("課題")
        verbose_name_plural = _("課題")
        constraints = [
            # One need per source item: "raise as need" twice opens the same one.
            models.UniqueConstraint(
                fields=["source_registration"],
                condition=models.Q(source_registration__isnull=False),
                name="need_one_per_registration",
            ),
            models.UniqueConstraint(
                fields=["source_answer"],
                condition=models.Q(source_answer__isnull=False),
                name="need_one_per_answer",
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("dashboard:need_detail", args=[self.pk])


class NeedUpdate(models.Model):
    """The history of a need: every status change or note, by whom and when."""

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="updates")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    old_status = models.CharField(max_length=12, blank=True)
    new_status = models.CharField(max_length=12, blank=True)
    function = models.PositiveSmallIntegerField(null=True, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("課題の経過")
        verbose_name_plural = _("課題の経過")

    def __str__(self):
        return f"{self.need} ({self.created_at:%Y-%m-%d})"
