"""Forms of the needs register: enter a need by hand, triage one, raise one
from a 事前質問 or a free-text answer.

The forms check the input's shape; the rules live in committee.needs (a
function before 対応中) and committee.access (who may own a need: the owner
choices are access.triage_users), and the services' ValidationError goes back
on the form next to the field at fault.
"""

import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from core import forms as site_forms
from core.dates import current_fiscal_year
from core.templatetags.wareki import wareki_fy
from events.enums import EventStatus
from events.models import Event

from . import access, needs, report
from .enums import (
    FUNCTION_REQUIRED_STATUSES,
    RAISABLE_SOURCES,
    NeedFunction,
    NeedSource,
    NeedStatus,
    ReportSection,
)
from .models import Need

# Events offered in the "関連イベント" list: those of the last few 年度 (the
# list stays short at national scale; older needs keep their event).
EVENT_YEARS = 3


def _function_choices():
    return [("", _("未分類")), *NeedFunction.choices]


def _fiscal_year_choices():
    return [(year, f"{wareki_fy(year)}（{year}）") for year in needs.selectable_fiscal_years()]


def _empty_to_none(value):
    return None if value in ("", None) else int(value)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class _NeedFields(site_forms.Form):
    """Fields shared by the manual entry and the triage forms."""

    status = forms.ChoiceField(label=_("状態"), choices=NeedStatus.choices, initial=NeedStatus.NEW)
    function = forms.TypedChoiceField(
        label=_("機能"),
        choices=_function_choices,
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("対応中・提言済・解決にするには、どの機能で対応するかを選びます。"),
    )
    owner = site_forms.ModelChoiceField(
        label=_("担当者"),
        queryset=access.triage_users(),
        required=False,
        empty_label=_("なし"),
        help_text=_("検討委員会・事務局の人から選びます。"),
    )
    due_date = forms.DateField(label=_("期限"), required=False, widget=DateInput())
    notes = forms.CharField(
        label=_("メモ"),
        required=False,
        max_length=needs.TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("対応の方針や関係先など。検討委員会と事務局が読みます。"),
    )

    def clean_due_date(self):
        value = self.cleaned_data.get("due_date")
        if value is not None and not (
            datetime.date(2000, 1, 1) <= value <= datetime.date(2100, 12, 31)
        ):
            raise forms.ValidationError(_("期限の日付を確認してください。"))
        return value

    def clean(self):
        cleaned = super().clean()
        status, function = cleaned.get("status"), cleaned.get("function")
        if (
            status in FUNCTION_REQUIRED_STATUSES
            and function is None
            and "function" not in self.errors
        ):
            self.add_error(
                "function",
                _("機能（1〜7）を選んでから%(status)sにしてください。")
                % {"status": NeedStatus(status).label},
            )
        return cleaned


# The needs register is read by the committee and the secretariat only: a text
# confirmed anyway is saved as it is (no review queue, unlike the board).
NEED_CONFIRM_HELP = _(
    "確認するとこのまま保存します。課題の登録簿は検討委員会と事務局だけが読みます。"
)


class NeedForm(site_forms.PrivacyGuardMixin, _NeedFields):
    """A need entered by hand; its texts go through the privacy guard."""

    privacy_fields = ("title", "text", "notes")
    privacy_confirm_help = NEED_CONFIRM_HELP

    title = forms.CharField(
        label=_("件名"),
        max_length=200,
        required=False,
        help_text=_("空欄なら内容の最初の40文字になります。"),
    )
    text = forms.CharField(
        label=_("内容"),
        max_length=needs.TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "現場で困っていること、知りたいこと。個人や相談者が特定できる内容は書かないでください。"
        ),
    )
    event = site_forms.ModelChoiceField(
        label=_("関連イベント"),
        queryset=Event.objects.none(),
        required=False,
        empty_label=_("なし"),
        help_text=_("イベントを選ぶと、年度はそのイベントの年度になります。"),
    )
    fiscal_year = forms.TypedChoiceField(label=_("年度"), choices=_fiscal_year_choices, coerce=int)

    field_order = [
        "title",
        "text",
        "function",
        "status",
        "owner",
        "due_date",
        "notes",
        "event",
        "fiscal_year",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = current_fiscal_year()
        self.fields["fiscal_year"].initial = current
        self.fields["event"].queryset = (
            Event.objects.filter(fiscal_year__gt=current - EVENT_YEARS)
            .exclude(status=EventStatus.DRAFT)
            .order_by("-starts_at", "-pk")
        )
        self.fields["event"].label_from_instance = lambda e: f"{e.title}（{e.starts_at:%Y/%m/%d}）"
        self.add_privacy_confirmation()


class TriageForm(site_forms.PrivacyGuardMixin, _NeedFields):
    """Move a need along: status, function, owner, due date, notes, and a note
    for the history; the texts go through the privacy guard."""

    privacy_fields = ("notes", "note")
    privacy_confirm_help = NEED_CONFIRM_HELP

    note = forms.CharField(
        label=_("経過のメモ"),
        required=False,
        max_length=needs.NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("この変更の理由や決まったこと。経過に残ります。"),
    )

    def __init__(self, *args, need: Need, **kwargs):
        initial = {
            "status": need.status,
            "function": need.function,
            "owner": need.owner_id,
            "due_date": need.due_date,
            "notes": need.notes,
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.add_privacy_confirmation()


class RaiseForm(site_forms.Form):
    """The hidden fields of the "課題にする" button: a registration by id; a
    free-text answer by its question and text (see committee.needs.find_answer),
    or by id."""

    kind = forms.ChoiceField(choices=[(s.value, s.label) for s in RAISABLE_SOURCES])
    id = forms.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    question = forms.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    # The free-text answer itself, line breaks included, in a hidden input.
    text = site_forms.multi_line(
        forms.CharField(required=False, strip=False, max_length=needs.TEXT_MAX_LENGTH + 100)
    )
    next = forms.CharField(required=False, max_length=2000)

    def clean(self):
        cleaned = super().clean()
        by_id = cleaned.get("id") is not None
        by_text = cleaned.get("question") is not None and bool(cleaned.get("text"))
        if not (by_id or (cleaned.get("kind") == NeedSource.ANSWER and by_text)):
            raise forms.ValidationError(_("課題にする元の記録が指定されていません。"))
        return cleaned


# The report is read by the committee and the secretariat: a text confirmed
# anyway is saved as it is, and marked as confirmed on the report.
REPORT_CONFIRM_HELP = _(
    "確認するとこのまま保存します。年度報告書は検討委員会と事務局が読み、"
    "報告書として外部に渡ることもあります。"
)


class ReportTextForm(site_forms.PrivacyGuardMixin, site_forms.Form):
    """The annual report's narrative paragraphs of one 年度 (committee.report);
    both go through the privacy guard."""

    privacy_fields = tuple(ReportSection.values)
    privacy_confirm_help = REPORT_CONFIRM_HELP

    survey_summary = forms.CharField(
        label=ReportSection.SURVEY_SUMMARY.label,
        required=False,
        max_length=report.TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("効果検証アンケートから読み取れること。Ⅳの数字の後に載ります。"),
    )
    issues = forms.CharField(
        label=ReportSection.ISSUES.label,
        required=False,
        max_length=report.TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "この年度に見えた課題と次の年度に向けて。個人や相談者が特定できる内容は書かないでください。"
        ),
    )

    def __init__(self, *args, texts: dict[str, str], **kwargs):
        super().__init__(*args, initial=texts, **kwargs)
        self.add_privacy_confirmation()

    @property
    def texts(self) -> dict[str, str]:
        return {section: self.cleaned_data[section] for section in ReportSection.values}
