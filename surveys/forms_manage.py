"""The secretariat's survey forms: the survey's settings and one question.

These forms only check what a person typed (in Japanese); creating, copying,
publishing, reminding and every rule of a question (how many choices, what
its answers and conditions need) are surveys.services', whose refusals the
question form shows on its fields.
"""

import datetime
import re
import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core import forms as site_forms
from core.dates import fiscal_year_of
from core.templatetags.wareki import jdate
from events.models import Event
from network.models import Organisation

from . import services
from .catalog import TEMPLATES
from .models import Question, Survey

DATETIME_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
FISCAL_YEAR_MIN = 2000
FISCAL_YEAR_MAX = 2100
REMINDER_DAY_MIN = 1
REMINDER_DAY_MAX = 60
REMINDER_DAYS_MAX_COUNT = 10
NO_CONDITION = ""
CONDITION_SEPARATOR = "|"
# How far back the event list of the survey form reaches.
EVENT_CHOICE_PAST = datetime.timedelta(days=2 * 366)
# How long after a post-event survey opens it closes, when prefilled from an event.
POST_EVENT_ANSWERING_DAYS = 14

# The defaults a kind brings (DESIGN: a post-event survey asks the people who
# came; the annual survey asks each organisation once).
KIND_DEFAULTS = {
    Survey.Kind.POST_EVENT: {
        "audience": Survey.Audience.EVENT_ATTENDEES,
        "respondent_unit": Survey.Unit.PERSON,
        "template": "post_event",
    },
    Survey.Kind.ANNUAL: {
        "audience": Survey.Audience.ALL_ORGANISATIONS,
        "respondent_unit": Survey.Unit.ORGANISATION,
        "template": "annual",
    },
    Survey.Kind.ADHOC: {
        "audience": Survey.Audience.ALL_ORGANISATIONS,
        "respondent_unit": Survey.Unit.PERSON,
        "template": "",
    },
}


def initial_from_query(params) -> dict:
    """?kind=post_event&event=12 (a link from an event page) prefills the create form."""
    initial: dict = {}
    kind = params.get("kind")
    if kind in Survey.Kind.values:
        initial["kind"] = kind
    event_pk = params.get("event", "")
    if not (event_pk.isdigit() and len(event_pk) < 12):
        return initial
    event = Event.objects.filter(pk=int(event_pk)).first()
    if event is None:
        return initial
    ends = timezone.localtime(event.ends_at)
    initial.update(
        {
            "kind": Survey.Kind.POST_EVENT,
            "event": event.pk,
            "title": gettext("%(title)s 参加者アンケート") % {"title": event.title},
            "fiscal_year": event.fiscal_year,
            "opens_at": ends,
            "closes_at": ends + datetime.timedelta(days=POST_EVENT_ANSWERING_DAYS),
        }
    )
    return initial


def _datetime_local():
    # The browser's own date-time picker; the value is local (Asia/Tokyo) time.
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL_FORMAT)


def parse_reminder_days(value: str) -> list[int]:
    """「7, 3」 (also 「７、３」 or 「7 3」) → [7, 3]: whole days before closing,
    1–60, without repeats, latest first."""
    text = unicodedata.normalize("NFKC", value or "")
    days = set()
    for part in re.split(r"[,、\s]+", text):
        if not part:
            continue
        if not re.fullmatch(r"[0-9]{1,3}", part):
            raise ValidationError(
                gettext(
                    "「%(part)s」は日数として読めません。締切の何日前かを数字で、カンマ区切りで入力してください（例：7, 3）。"
                )
                % {"part": part[:20]},
                code="invalid",
            )
        day = int(part)
        if not REMINDER_DAY_MIN <= day <= REMINDER_DAY_MAX:
            raise ValidationError(
                gettext(
                    "リマインドは締切の%(min)d〜%(max)d日前の範囲で指定してください（%(day)d）。"
                )
                % {"min": REMINDER_DAY_MIN, "max": REMINDER_DAY_MAX, "day": day},
                code="range",
            )
        days.add(day)
    if len(days) > REMINDER_DAYS_MAX_COUNT:
        raise ValidationError(
            gettext("リマインドの日程は%(n)d回までにしてください。")
            % {"n": REMINDER_DAYS_MAX_COUNT},
            code="too_many",
        )
    return sorted(days, reverse=True)


def format_reminder_days(days) -> str:
    return ", ".join(str(day) for day in days or [])


class EventChoiceField(site_forms.ModelChoiceField):
    def label_from_instance(self, event):
        return f"{jdate(event.starts_at)} {event.title}"


def organisation_groups(organisations, selected) -> list[dict]:
    """Organisations grouped by kind for the checkbox list of 「選んだ組織」."""
    labels = dict(Organisation.Kind.choices)
    groups: dict[str, dict] = {}
    for organisation in organisations:
        group = groups.setdefault(
            organisation.kind,
            {"kind": organisation.kind, "label": labels.get(organisation.kind, ""), "items": []},
        )
        group["items"].append(
            {
                "pk": organisation.pk,
                "name": organisation.name,
                "kana": organisation.kana,
                "checked": organisation.pk in selected,
            }
        )
    for group in groups.values():
        group["checked_count"] = sum(1 for item in group["items"] if item["checked"])
    order = [kind for kind, _label in Organisation.Kind.choices]
    return [groups[kind] for kind in order if kind in groups]


class SurveyForm(site_forms.ModelForm):
    """The survey's settings. The questions are edited one by one (QuestionForm);
    the status moves only through publish / close (surveys.services)."""

    fiscal_year = forms.IntegerField(
        label=_("年度"),
        required=False,
        min_value=FISCAL_YEAR_MIN,
        max_value=FISCAL_YEAR_MAX,
        help_text=_(
            "西暦で入力（例：2021 = 令和3年度）。空欄なら対象イベントの年度、なければ回答開始日から決まります。"
        ),
        error_messages={
            "min_value": _("年度は%(limit_value)s以降の西暦で入力してください。"),
            "max_value": _("年度は%(limit_value)s以前の西暦で入力してください。"),
            "invalid": _("年度は西暦の数字で入力してください（例：2021）。"),
        },
    )
    event = EventChoiceField(
        label=_("対象イベント"),
        queryset=Event.objects.none(),
        required=False,
        empty_label=_("（選ばない）"),
        help_text=_("イベント後アンケートのときに選びます。参加者（出席した人）に依頼を送れます。"),
        error_messages={"invalid_choice": _("一覧にあるイベントを選んでください。")},
    )
    chosen_organisations = site_forms.ModelMultipleChoiceField(
        label=_("対象の組織"),
        queryset=Organisation.objects.none(),
        required=False,
        error_messages={
            "invalid_choice": _("選べない組織が含まれています。一覧から選び直してください。"),
            "invalid_pk_value": _("選べない組織が含まれています。一覧から選び直してください。"),
            "invalid_list": _("組織を一覧から選んでください。"),
        },
    )
    reminder_days = forms.CharField(
        label=_("リマインドの日程"),
        required=False,
        max_length=100,
        help_text=_(
            "締切の何日前に、未回答の人へリマインドを送るか。カンマ区切り（例：7, 3）。空欄なら自動では送りません。"
        ),
    )

    FIELDSETS = (
        (_("基本情報"), ("title", "introduction", "kind", "event", "fiscal_year")),
        (
            _("対象と回答の単位"),
            ("audience", "chosen_organisations", "respondent_unit", "anonymous"),
        ),
        (_("回答期間とリマインド"), ("opens_at", "closes_at", "reminder_days")),
    )

    class Meta:
        model = Survey
        fields = [
            "title",
            "introduction",
            "kind",
            "event",
            "fiscal_year",
            "audience",
            "chosen_organisations",
            "respondent_unit",
            "anonymous",
            "opens_at",
            "closes_at",
            "reminder_days",
        ]
        widgets = {
            "opens_at": _datetime_local(),
            "closes_at": _datetime_local(),
            "introduction": forms.Textarea(attrs={"rows": 5}),
            "audience": forms.RadioSelect(attrs={"class": "choice-list"}),
            "respondent_unit": forms.RadioSelect(attrs={"class": "choice-list"}),
        }
        help_texts = {
            "title": _(
                "依頼メールの件名と回答画面の見出しになります。例：令和3年度 効果検証アンケート"
            ),
            "introduction": _("回答画面の最初に表示します。目的、所要時間、結果の使い方など。"),
            "kind": _("イベント後・年次（効果検証）・その他から選びます。"),
            "audience": _("公開したときに、この対象へ依頼メールを送ります。"),
            "respondent_unit": _(
                "「組織」なら1組織1回答です。依頼は組織管理者へ送られ、その組織のメンバーなら誰でも回答できます。"
            ),
            "anonymous": _(
                "匿名の場合、回答と回答者を結びつける情報は保存しません。事務局も個別の回答者はわかりません。"
            ),
            "opens_at": _("日本時間で入力します。"),
            "closes_at": _(
                "回答開始より後にしてください。締切を過ぎると回答用リンクは使えなくなります。"
            ),
        }
        error_messages = {
            "title": {"required": _("タイトルを入力してください。")},
            "opens_at": {
                "required": _("回答開始の日時を入力してください。"),
                "invalid": _("回答開始の日時を正しく入力してください。"),
            },
            "closes_at": {
                "required": _("回答締切の日時を入力してください。"),
                "invalid": _("回答締切の日時を正しく入力してください。"),
            },
            "kind": {"invalid_choice": _("種類を一覧から選んでください。")},
            "audience": {
                "required": _("対象を選んでください。"),
                "invalid_choice": _("対象を一覧から選んでください。"),
            },
            "respondent_unit": {
                "required": _("回答の単位を選んでください。"),
                "invalid_choice": _("回答の単位を一覧から選んでください。"),
            },
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Recent and coming events (a post-event survey follows its event),
        # plus the one already chosen or prefilled: the list stays short with
        # years of history.
        offered = Q(starts_at__gte=timezone.now() - EVENT_CHOICE_PAST) & ~Q(
            status=Event.Status.CANCELLED
        )
        for current in (self.instance.event_id, self.initial.get("event")):
            if current:
                offered |= Q(pk=current)
        self.fields["event"].queryset = Event.objects.filter(offered).order_by("-starts_at", "-pk")
        chosen = Q(is_active=True)
        if self.instance.pk:
            chosen |= Q(pk__in=self.instance.chosen_organisations.values("pk"))
        self.fields["chosen_organisations"].queryset = Organisation.objects.filter(chosen)
        if self.instance.pk:
            self.initial["reminder_days"] = format_reminder_days(self.instance.reminder_days)
        else:
            self.initial.setdefault("reminder_days", "7, 3")
        self.fields["reminder_days"].widget.attrs.update(
            {"inputmode": "numeric", "placeholder": "7, 3"}
        )
        self.fields["fiscal_year"].widget.attrs.setdefault("inputmode", "numeric")
        # Survey.answering_settled: changing who answers, or anonymity, would
        # mix differently collected answers.
        self.locked = bool(self.instance.pk and self.instance.answering_settled)
        if self.locked:
            for name in ("respondent_unit", "anonymous"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _(
                    "依頼を送った後は変更できません（集め方の違う回答が混ざるため）。"
                )

    def fieldsets(self):
        return [(legend, [self[name] for name in names]) for legend, names in self.FIELDSETS]

    def organisation_groups(self):
        """The checkbox list of 「選んだ組織」, grouped by kind (one query)."""
        field = self["chosen_organisations"]
        selected = set()
        for value in field.value() or []:
            try:
                selected.add(int(getattr(value, "pk", value)))
            except (TypeError, ValueError):
                continue
        organisations = (
            self.fields["chosen_organisations"]
            .queryset.only("pk", "name", "kana", "kind")
            .order_by("kind", "kana", "name", "pk")
        )
        return organisation_groups(organisations, selected)

    def clean_title(self):
        return (self.cleaned_data.get("title") or "").strip()

    def clean_reminder_days(self):
        return parse_reminder_days(self.cleaned_data.get("reminder_days"))

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        event = cleaned.get("event")
        audience = cleaned.get("audience")
        opens = cleaned.get("opens_at")
        closes = cleaned.get("closes_at")

        if kind == Survey.Kind.POST_EVENT and not event and not self.has_error("event"):
            self.add_error("event", _("イベント後アンケートでは、対象イベントを選んでください。"))
        elif kind and kind != Survey.Kind.POST_EVENT:
            # An event left over from an earlier choice would mislead later readers.
            cleaned["event"] = event = None
        if audience == Survey.Audience.EVENT_ATTENDEES and kind and kind != Survey.Kind.POST_EVENT:
            self.add_error(
                "audience",
                _(
                    "「イベントの参加者」はイベント後アンケートで対象イベントを選んだときだけ使えます。"
                ),
            )
        if audience == Survey.Audience.CHOSEN:
            if not cleaned.get("chosen_organisations") and not self.has_error(
                "chosen_organisations"
            ):
                self.add_error("chosen_organisations", _("対象の組織を1つ以上選んでください。"))
        elif audience:
            cleaned["chosen_organisations"] = Organisation.objects.none()

        if opens and closes and closes <= opens:
            self.add_error("closes_at", _("回答締切は回答開始より後にしてください。"))

        if cleaned.get("fiscal_year") is None and not self.has_error("fiscal_year"):
            if event:
                cleaned["fiscal_year"] = event.fiscal_year
            elif opens:
                cleaned["fiscal_year"] = fiscal_year_of(opens)
            elif not self.has_error("opens_at"):
                self.add_error(
                    "fiscal_year", _("年度を入力するか、回答開始の日時を入力してください。")
                )
        return cleaned


TEMPLATE_CHOICES = [
    ("", _("なし（質問を自分で追加する）")),
    *((key, spec["label"]) for key, spec in TEMPLATES.items()),
]


class SurveyCreateForm(SurveyForm):
    template = forms.ChoiceField(
        label=_("テンプレートから作成"),
        choices=TEMPLATE_CHOICES,
        required=False,
        widget=forms.RadioSelect(attrs={"class": "choice-list"}),
        help_text=_(
            "資料（北海道の支援者支援プロジェクト）で使った質問をそのまま入れます。後から直せます。"
        ),
        error_messages={"invalid_choice": _("テンプレートを一覧から選んでください。")},
    )

    FIELDSETS = (
        (_("基本情報"), ("title", "introduction", "kind", "event", "fiscal_year", "template")),
        *SurveyForm.FIELDSETS[1:],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        kind = self.initial.get("kind")
        defaults = KIND_DEFAULTS.get(kind, KIND_DEFAULTS[Survey.Kind.ADHOC])
        for name, value in defaults.items():
            self.initial.setdefault(name, value)
        self.initial.setdefault("kind", Survey.Kind.ADHOC)


# --- questions ----------------------------------------------------------------------------


def question_numbers(questions) -> dict[int, int]:
    """{question pk: its number (Q1, Q2…)} by position in the survey."""
    return {question.pk: number for number, question in enumerate(questions, start=1)}


def condition_value(question_pk: int, choice: str) -> str:
    return f"{question_pk}{CONDITION_SEPARATOR}{choice}"


def condition_text(question, numbers: dict[int, int]) -> str:
    """「Q1が『参加したことがある』の場合のみ」 (empty when unconditional)."""
    if not question.show_if_question_id:
        return ""
    number = numbers.get(question.show_if_question_id)
    label = f"Q{number}" if number else gettext("（削除された質問）")
    return gettext("%(q)sが『%(value)s』の場合のみ") % {"q": label, "value": question.show_if_value}


def _truncate(text: str, length: int = 30) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


class QuestionForm(site_forms.ModelForm):
    """One question. `questions` is the survey's questions in order (read once
    by the view): they number the questions and offer the conditions."""

    choices = forms.CharField(
        label=_("選択肢"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "1行に1つ。単一選択・複数選択のときに2つ以上必要です（%(max)d個まで。「その他」は数えません）。"
        )
        % {"max": services.CHOICES_MAX},
    )
    condition = forms.ChoiceField(
        label=_("表示条件"),
        required=False,
        help_text=_(
            "前の質問の答えによって表示するときに選びます。選べるのは、この質問より前にある単一選択・複数選択の質問です。"
        ),
        error_messages={
            "invalid_choice": _(
                "表示条件には、この質問より前にある単一選択・複数選択の質問と、その選択肢を選んでください。"
            )
        },
    )

    FIELDSETS = (
        (_("質問"), ("text", "help_text", "kind", "required")),
        (_("選択肢（単一選択・複数選択）"), ("choices", "allow_other")),
        (_("5段階評価の目盛り"), ("scale_min_label", "scale_max_label")),
        (_("表示する相手と条件"), ("audience", "condition")),
        (_("詳細"), ("key",)),
    )

    class Meta:
        model = Question
        fields = [
            "text",
            "help_text",
            "kind",
            "required",
            "choices",
            "allow_other",
            "scale_min_label",
            "scale_max_label",
            "audience",
            "key",
        ]
        widgets = {
            "kind": forms.RadioSelect(attrs={"class": "choice-list"}),
            "audience": forms.RadioSelect(attrs={"class": "choice-list"}),
        }
        help_texts = {
            "text": _("例：情報交換会は役に立ちましたか"),
            "help_text": _("質問の下に小さく表示します。"),
            "required": _("チェックすると、答えないと送信できません（表示されない質問は除く）。"),
            "allow_other": _("選択肢の最後に「その他」と自由記入欄を付けます。"),
            "scale_min_label": _("例：役に立たなかった"),
            "scale_max_label": _("例：とても役に立った"),
            "audience": _("自治体だけ・受託団体や支援団体だけに聞く質問のときに選びます。"),
            "key": _(
                "年度をまたいで同じ質問を比べるための英数字の名前（例：useful）。同じアンケートの中で重複できません。空欄でも構いません。"
            ),
        }
        error_messages = {
            "text": {"required": _("質問文を入力してください。")},
            "kind": {
                "required": _("形式を選んでください。"),
                "invalid_choice": _("形式を一覧から選んでください。"),
            },
            "audience": {"invalid_choice": _("表示対象を一覧から選んでください。")},
            "key": {
                "invalid": _("キーは半角の英数字・ハイフン・アンダースコアで入力してください。"),
            },
        }

    def __init__(self, *args, survey, questions, **kwargs):
        super().__init__(*args, **kwargs)
        self.survey = survey
        self.questions = list(questions)
        self.numbers = question_numbers(self.questions)
        self.fields["key"].widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})
        # A radio list needs no "---------" choice: a new question starts as single choice.
        self.fields["kind"].choices = Question.Kind.choices
        self.fields["audience"].choices = Question.Audience.choices
        if not self.instance.pk:
            self.initial.setdefault("kind", Question.Kind.SINGLE)
        if self.instance.pk:
            self.initial["choices"] = "\n".join(self.instance.choices or [])
            if self.instance.show_if_question_id:
                self.initial["condition"] = condition_value(
                    self.instance.show_if_question_id, self.instance.show_if_value
                )
        self.fields["condition"].choices = self._condition_choices()
        # A question that already has answers keeps its kind
        # (services.update_question refuses another): the field is shown locked.
        self.has_answers = bool(self.instance.pk and self.instance.answers.exists())
        if self.has_answers:
            self.fields["kind"].disabled = True
            self.fields["kind"].help_text = _("回答があるため、形式は変更できません。")

    def fieldsets(self):
        return [(legend, [self[name] for name in names]) for legend, names in self.FIELDSETS]

    def _earlier_questions(self):
        if not self.instance.pk:
            return self.questions
        earlier = []
        for question in self.questions:
            if question.pk == self.instance.pk:
                break
            earlier.append(question)
        return earlier

    def _condition_choices(self):
        groups = []
        for question in self._earlier_questions():
            if not question.has_choices:
                continue
            number = self.numbers[question.pk]
            options = [
                (
                    condition_value(question.pk, choice),
                    gettext("『%(c)s』と答えた人") % {"c": choice},
                )
                for choice in question.choices
            ]
            if options:
                groups.append((f"Q{number} {_truncate(question.text)}", options))
        return [(NO_CONDITION, gettext("条件なし（全員に表示）")), *groups]

    def clean_text(self):
        return (self.cleaned_data.get("text") or "").strip()

    def clean_key(self):
        return (self.cleaned_data.get("key") or "").strip()

    def clean(self):
        cleaned = super().clean()
        self._clean_condition(cleaned)
        return cleaned

    def _clean_condition(self, cleaned):
        value = cleaned.get("condition") or NO_CONDITION
        if value == NO_CONDITION:
            cleaned["show_if_question"] = None
            cleaned["show_if_value"] = ""
            return
        question_pk, choice = value.split(CONDITION_SEPARATOR, 1)
        # The choice list offered only valid pairs; ChoiceField checked that.
        question = next(q for q in self.questions if str(q.pk) == question_pk)
        cleaned["show_if_question"] = question
        cleaned["show_if_value"] = choice

    def question_values(self) -> dict:
        """What services.add_question / update_question take (the choices as
        typed: the service splits and checks them)."""
        data = self.cleaned_data
        return {
            "text": data["text"],
            "kind": data["kind"],
            "required": data.get("required", False),
            "choices": data.get("choices", ""),
            "allow_other": data.get("allow_other", False),
            "scale_min_label": data.get("scale_min_label", ""),
            "scale_max_label": data.get("scale_max_label", ""),
            "audience": data.get("audience") or Question.Audience.ALL,
            "help_text": data.get("help_text", ""),
            "key": data.get("key", ""),
            "show_if_question": data.get("show_if_question"),
            "show_if_value": data.get("show_if_value", ""),
        }

    def add_service_error(self, error: services.SurveyError) -> None:
        """A refusal of the question services, on the field it is about."""
        field = services.QUESTION_ERROR_FIELDS.get(error.code)
        self.add_error(field if field in self.fields else None, error.messages)
