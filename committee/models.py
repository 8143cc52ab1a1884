"""The needs register (課題): what the field raises, triaged into the seven
functions of 支援者支援 and followed to a result. The tables were created by
the surveys app and kept their names when the models moved here."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.choices import ChoiceLabels

from .enums import NeedFunction, NeedSource, NeedStatus, ReportSection
from .querysets import NeedQuerySet


class Need(ChoiceLabels, models.Model):
    """A need (課題) raised in the field, triaged into one of the seven
    functions of 支援者支援 and followed to a result (seed: (1)→(3), then (4)–(7))."""

    Function = NeedFunction
    Status = NeedStatus
    Source = NeedSource

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
        "surveys.Answer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="needs",
        verbose_name=_("アンケートの回答"),
    )
    source_topic = models.ForeignKey(
        "note.Topic",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="needs",
        verbose_name=_("掲示板の相談"),
    )
    source_application = models.ForeignKey(
        "support.Application",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="needs",
        verbose_name=_("後方支援の申込"),
    )
    source_engagement = models.ForeignKey(
        "support.Engagement",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="needs",
        verbose_name=_("後方支援の成果報告"),
    )
    # A topic need entered by hand before the board existed keeps its link as text.
    source_reference = models.CharField(_("出どころの参照"), max_length=300, blank=True)
    event = models.ForeignKey(
        "events.Event",
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

    objects = NeedQuerySet.as_manager()

    class Meta:
        db_table = "surveys_need"  # the table kept its name when the model moved here
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
            models.UniqueConstraint(
                fields=["source_topic"],
                condition=models.Q(source_topic__isnull=False),
                name="need_one_per_topic",
            ),
            models.UniqueConstraint(
                fields=["source_application"],
                condition=models.Q(source_application__isnull=False),
                name="need_one_per_application",
            ),
            models.UniqueConstraint(
                fields=["source_engagement"],
                condition=models.Q(source_engagement__isnull=False),
                name="need_one_per_engagement",
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("dashboard:need_detail", args=[self.pk])


class NeedUpdate(models.Model):
    """The history of a need: every status change or note, by whom and when."""

    need = models.ForeignKey(
        Need, on_delete=models.CASCADE, related_name="updates", verbose_name=_("課題")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("記入者"),
    )
    old_status = models.CharField(_("変更前の状態"), max_length=12, blank=True)
    new_status = models.CharField(_("変更後の状態"), max_length=12, blank=True)
    function = models.PositiveSmallIntegerField(_("機能"), null=True, blank=True)
    note = models.TextField(_("メモ"), blank=True)
    created_at = models.DateTimeField(_("日時"), auto_now_add=True)

    class Meta:
        db_table = "surveys_needupdate"
        ordering = ["created_at", "pk"]
        verbose_name = _("課題の経過")
        verbose_name_plural = _("課題の経過")

    def __str__(self):
        return f"{self.need} ({self.created_at:%Y-%m-%d})"


class ReportText(models.Model):
    """A paragraph of the annual report (年度報告書) the secretariat writes for
    a 年度: 課題 or アンケート総括. Written only by committee.report.save_texts,
    which keeps every saved version in ReportTextRevision."""

    Section = ReportSection

    fiscal_year = models.PositiveSmallIntegerField(_("年度"))
    section = models.CharField(_("項目"), max_length=20, choices=Section.choices)
    text = models.TextField(_("本文"), blank=True)
    # The privacy guard found something and its author confirmed it anyway.
    privacy_flagged = models.BooleanField(_("個人情報の確認済み"), default=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("更新者"),
    )
    updated_at = models.DateTimeField(_("更新日時"))

    class Meta:
        ordering = ["fiscal_year", "section"]
        constraints = [
            models.UniqueConstraint(
                fields=["fiscal_year", "section"], name="committee_reporttext_year_section"
            )
        ]
        verbose_name = _("年度報告書の本文")
        verbose_name_plural = _("年度報告書の本文")

    def __str__(self):
        return f"{self.fiscal_year} {self.get_section_display()}"


class ReportTextRevision(models.Model):
    """One saved version of a ReportText: its text, who saved it and when."""

    report_text = models.ForeignKey(
        ReportText,
        on_delete=models.CASCADE,
        related_name="revisions",
        verbose_name=_("年度報告書の本文"),
    )
    text = models.TextField(_("本文"), blank=True)
    privacy_flagged = models.BooleanField(_("個人情報の確認済み"), default=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("記入者"),
    )
    created_at = models.DateTimeField(_("保存日時"))

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("年度報告書の本文の履歴")
        verbose_name_plural = _("年度報告書の本文の履歴")

    def __str__(self):
        return f"{self.report_text} ({self.created_at:%Y-%m-%d %H:%M})"


class ReportOpinion(models.Model):
    """A free-text survey answer the secretariat chose to quote in a 年度's
    annual report: a post-event survey's under Ⅰ (参加者からの意見), the
    annual survey's under Ⅳ (主な意見). Quoted without who wrote it; nobody
    but the secretariat reads an answer that was not chosen. Chosen only
    through committee.report_opinions.save_choices; gone with its answer
    (the answers' retention, docs/privacy.md)."""

    answer = models.OneToOneField(
        "surveys.Answer",
        on_delete=models.CASCADE,
        related_name="report_opinion",
        verbose_name=_("回答"),
    )
    fiscal_year = models.PositiveSmallIntegerField(_("年度"), db_index=True)
    chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("選んだ人"),
    )
    chosen_at = models.DateTimeField(_("選んだ日時"))

    class Meta:
        ordering = ["fiscal_year", "answer"]
        verbose_name = _("年度報告書に載せる意見")
        verbose_name_plural = _("年度報告書に載せる意見")

    def __str__(self):
        return f"{self.fiscal_year} {self.answer_id}"
