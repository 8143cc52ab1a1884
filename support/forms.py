"""Forms of the back-up menus: the member's application, the partner's
session record and outcome report. Every form derives from core.forms.

The forms check the input; whether an organisation may apply, whether a
session's date is allowed and whether an engagement may be completed is
decided by support.services, whose SupportError the views show next to the
field it names. A menu's own questions (application and outcome) become
fields through one builder, `question_field`, with the surveys' kinds.

Free texts that the secretariat and the partner read pass the privacy guard
(core.forms.PrivacyGuardMixin): counts and hours only, never a beneficiary.
"""

from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import forms as site_forms
from network.models import Organisation
from surveys.enums import QuestionKind

from . import access
from .enums import SessionMode
from .models import HOURS
from .services import TEXT_MAX_LENGTH

ANSWER_MAX_LENGTH = 2000
SCALE_CHOICES = [(n, str(n)) for n in range(1, 6)]
# Above this many organisations the choice is a searchable select, not radios.
RADIO_ORGANISATIONS = 8
QUESTION_PREFIX = "q_"


class ChoiceList(forms.RadioSelect):
    """Radio buttons with the site's large tap targets (.choice-list)."""

    def __init__(self, attrs=None, choices=()):
        super().__init__({"class": "choice-list", **(attrs or {})}, choices)


class CheckboxList(forms.CheckboxSelectMultiple):
    def __init__(self, attrs=None, choices=()):
        super().__init__({"class": "choice-list", **(attrs or {})}, choices)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def _textarea(rows: int) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


def question_field(question) -> forms.Field:
    """The form field that asks one MenuQuestion, by its surveys kind:
    single → radios, multiple → checkboxes, scale → 1–5 radios,
    text → textarea, number → an integer ≥ 0."""
    common = {
        "label": question.text,
        "required": question.required,
        "help_text": question.help_text,
    }
    choices = [(choice, choice) for choice in question.choices or []]
    if question.kind == QuestionKind.SINGLE:
        return forms.ChoiceField(choices=choices, widget=ChoiceList, **common)
    if question.kind == QuestionKind.MULTIPLE:
        return forms.MultipleChoiceField(choices=choices, widget=CheckboxList, **common)
    if question.kind == QuestionKind.SCALE:
        return forms.TypedChoiceField(
            choices=SCALE_CHOICES, coerce=int, empty_value=None, widget=ChoiceList, **common
        )
    if question.kind == QuestionKind.NUMBER:
        return forms.IntegerField(min_value=0, max_value=10**9, **common)
    return forms.CharField(max_length=ANSWER_MAX_LENGTH, widget=_textarea(4), **common)


class QuestionsMixin:
    """One field per question (named q_<key>); `answers()` gives them back
    keyed by question.key, leaving out what was not answered."""

    def add_question_fields(self, questions) -> None:
        self.questions = list(questions)
        for question in self.questions:
            self.fields[QUESTION_PREFIX + question.key] = question_field(question)

    def text_question_names(self) -> tuple[str, ...]:
        return tuple(QUESTION_PREFIX + q.key for q in self.questions if q.kind == QuestionKind.TEXT)

    def answers(self) -> dict:
        answers = {}
        for question in self.questions:
            value = self.cleaned_data.get(QUESTION_PREFIX + question.key)
            if value in (None, "", []):
                continue
            answers[question.key] = value
        return answers


def _organisation_label(organisation, refusal: str) -> str:
    if refusal:
        return _("%(name)s — %(reason)s") % {"name": organisation.name, "reason": refusal}
    return organisation.name


class ApplicationForm(QuestionsMixin, site_forms.PrivacyGuardMixin, site_forms.Form):
    """利用申込: for which organisation, what is needed, by when, who to
    contact, and the menu's own questions."""

    privacy_fields = ("need",)
    privacy_confirm_help = _(
        "確認するとこのまま申し込みます。この内容は事務局と協力団体が読みます。"
        "支援の対象になる人（相談者など）が特定される内容は書かないでください。"
    )

    need = forms.CharField(
        label=_("困っていること・希望する支援"),
        max_length=TEXT_MAX_LENGTH,
        widget=_textarea(6),
        help_text=_(
            "団体として困っていること、このメニューで手伝ってほしいことを書きます。"
            "相談者など個人が特定される内容は書かないでください。"
        ),
    )
    wanted_by = forms.DateField(
        label=_("希望する時期"),
        required=False,
        widget=DateInput(),
        help_text=_("この日までに始めたい、という目安があれば入力します。"),
    )
    contact_name = forms.CharField(label=_("連絡担当者"), max_length=100)
    contact_email = forms.EmailField(
        label=_("連絡先メール"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    contact_phone = forms.CharField(
        label=_("連絡先電話"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def __init__(self, *args, menu, user, **kwargs):
        kwargs.setdefault("initial", {"contact_name": user.full_name, "contact_email": user.email})
        super().__init__(*args, **kwargs)
        self.menu = menu
        self.organisations = self._organisations(user)
        self.refusals = {o.pk: menu.refusal_for(o) for o in self.organisations}
        choices = [(o.pk, _organisation_label(o, self.refusals[o.pk])) for o in self.organisations]
        many = len(choices) > RADIO_ORGANISATIONS
        field = forms.TypedChoiceField(
            label=_("申込む組織"),
            choices=([("", site_forms.EMPTY_CHOICE_LABEL)] if many else []) + choices,
            coerce=int,
            widget=site_forms.SearchableSelect() if many else ChoiceList,
            help_text=_("申込できない組織には、その理由を添えています。")
            if any(self.refusals.values())
            else "",
        )
        if len(choices) == 1:
            field.initial = choices[0][0]
        self.fields = {"organisation": field, **self.fields}
        self.add_question_fields(menu.application_questions())
        self.privacy_fields = ("need", *self.text_question_names())
        self.add_privacy_confirmation()

    @staticmethod
    def _organisations(user) -> list:
        ids = access.applicant_organisation_ids(user)
        organisations = Organisation.objects.filter(is_active=True)
        if ids is not None:
            organisations = organisations.filter(pk__in=ids)
        return list(organisations.prefetch_related("programs").order_by("kana", "name", "pk"))

    def clean_organisation(self):
        pk = self.cleaned_data["organisation"]
        refusal = self.refusals.get(pk)
        if refusal:
            raise forms.ValidationError(refusal, code="ineligible")
        return pk

    def clean_wanted_by(self):
        value = self.cleaned_data.get("wanted_by")
        if value is not None and value < timezone.localdate():
            raise forms.ValidationError(_("今日以降の日付を入力してください。"), code="past")
        if value is not None and value > datetime.date(2100, 12, 31):
            raise forms.ValidationError(_("日付を確認してください。"), code="far")
        return value

    def organisation(self):
        pk = self.cleaned_data["organisation"]
        return next(o for o in self.organisations if o.pk == pk)

    def values(self) -> dict:
        """Keyword arguments for services.submit_application."""
        data = self.cleaned_data
        return {
            "organisation": self.organisation(),
            "need": data["need"],
            "wanted_by": data.get("wanted_by"),
            "contact_name": data["contact_name"],
            "contact_email": data["contact_email"],
            "contact_phone": data.get("contact_phone", ""),
            "answers": self.answers(),
        }


RECORDS_CONFIRM_HELP = _(
    "確認するとこのまま記録します。記録は協力団体と事務局が読みます。"
    "支援の対象になる人が特定される内容は書かないでください。"
)


def _hours_field(label, **kwargs) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        min_value=0,
        max_value=999,
        max_digits=HOURS["max_digits"],
        decimal_places=HOURS["decimal_places"],
        widget=forms.NumberInput(attrs={"step": "0.25", "inputmode": "decimal"}),
        **kwargs,
    )


class SessionForm(site_forms.PrivacyGuardMixin, site_forms.Form):
    """支援記録: one session. The secretariat's coordination hours are asked
    only of the secretariat; a partner's record has none."""

    privacy_fields = ("done", "next_steps")
    privacy_confirm_help = RECORDS_CONFIRM_HELP

    held_on = forms.DateField(label=_("実施日"), widget=DateInput())
    duration_minutes = forms.IntegerField(label=_("所要時間（分）"), min_value=1, max_value=24 * 60)
    mode = forms.ChoiceField(label=_("方法"), choices=SessionMode.choices, widget=ChoiceList)
    done = forms.CharField(
        label=_("実施内容"),
        max_length=TEXT_MAX_LENGTH,
        widget=_textarea(5),
        help_text=_("何をしたか。人数や件数で書き、個人が特定される内容は書かないでください。"),
    )
    next_steps = forms.CharField(
        label=_("次の予定"), max_length=TEXT_MAX_LENGTH, required=False, widget=_textarea(3)
    )
    partner_hours = _hours_field(
        _("協力団体の従事時間（時間）"), help_text=_("準備を含めた時間。0.25時間（15分）単位。")
    )

    def __init__(self, *args, with_secretariat_hours: bool, **kwargs):
        kwargs.setdefault("initial", {"held_on": timezone.localdate()})
        super().__init__(*args, **kwargs)
        if with_secretariat_hours:
            self.fields["secretariat_hours"] = _hours_field(
                _("事務局の調整時間（時間）"), initial=0
            )
        self.add_privacy_confirmation()

    def values(self) -> dict:
        """Keyword arguments for services.record_session."""
        data = self.cleaned_data
        values = {
            name: data[name]
            for name in (
                "held_on",
                "duration_minutes",
                "mode",
                "done",
                "next_steps",
                "partner_hours",
            )
        }
        if "secretariat_hours" in self.fields:
            values["secretariat_hours"] = data["secretariat_hours"]
        return values


class OutcomeForm(QuestionsMixin, site_forms.PrivacyGuardMixin, site_forms.Form):
    """The outcome report that completes an engagement: the menu's outcome
    fields and a free text."""

    privacy_fields = ("outcome_text",)
    privacy_confirm_help = RECORDS_CONFIRM_HELP

    def __init__(self, *args, menu, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_question_fields(menu.outcome_questions())
        self.fields["outcome_text"] = forms.CharField(
            label=_("成果と今後"),
            max_length=TEXT_MAX_LENGTH,
            widget=_textarea(6),
            help_text=_("支援で変わったこと、団体がこれから続けること。"),
        )
        self.privacy_fields = ("outcome_text", *self.text_question_names())
        self.add_privacy_confirmation()

    def values(self) -> dict:
        """Keyword arguments for services.complete_engagement."""
        return {
            "outcome_answers": self.answers(),
            "outcome_text": self.cleaned_data["outcome_text"],
        }
