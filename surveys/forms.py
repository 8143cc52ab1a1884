"""The answering form, built from a survey's questions.

One field per question the respondent may see (questions for another kind of
organisation are left out), named "q<pk>", plus "q<pk>_other" for the text of
"その他". Every field is optional to Django: whether an answer is required
depends on the conditions (show_if), so the form hands everything to
services.clean_answers, the one place that decides, and shows its errors per
question. The templates (surveys/_question_*.html) draw the inputs from
`form.rows`, so the builder's preview can render the same form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django import forms
from django.forms.utils import ErrorDict
from django.utils.translation import gettext as _

from core import forms as site_forms

from . import services
from .models import OTHER_CHOICE, Question, Survey


@dataclass
class Option:
    value: str
    label: str
    checked: bool
    id: str


@dataclass
class Row:
    """What a question partial needs to draw one question."""

    question: Question
    number: int
    name: str
    bound: forms.BoundField
    options: list[Option] = field(default_factory=list)
    other: forms.BoundField | None = None
    other_checked: bool = False
    condition: str = ""
    condition_name: str = ""

    @property
    def template(self) -> str:
        return f"surveys/_question_{self.question.kind}.html"

    @property
    def errors(self):
        errors = list(self.bound.errors)
        if self.other is not None:
            errors += list(self.other.errors)
        return errors

    @property
    def value(self):
        value = self.bound.value()
        return "" if value is None else value


class AnswerForm(site_forms.Form):
    """`require` is True when submitting (required questions must be answered)
    and False for 一時保存. After is_valid(), `answers_data` is what
    services.save_answers takes."""

    def __init__(
        self,
        *args,
        survey: Survey,
        organisation_kind: str,
        require: bool = True,
        questions: list[Question] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.survey = survey
        self.organisation_kind = organisation_kind
        self.require = require
        all_questions = questions if questions is not None else list(survey.questions.all())
        self.questions = [
            q
            for q in sorted(all_questions, key=lambda q: (q.order, q.pk))
            if services.shown_by_audience(q, organisation_kind)
        ]
        self.answers_data: dict = {}
        for question in self.questions:
            name = services.field_name(question)
            self.fields[name] = self._field_for(question)
            if question.has_choices and question.allow_other:
                self.fields[name + "_other"] = forms.CharField(
                    required=False,
                    label=_("「その他」の内容"),
                    widget=forms.TextInput(attrs={"maxlength": services.OTHER_MAX_LENGTH}),
                )

    @staticmethod
    def _field_for(question: Question) -> forms.Field:
        label = question.text
        if question.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
            choices = [(c, c) for c in question.choices]
            if question.allow_other:
                choices.append((OTHER_CHOICE, OTHER_CHOICE))
            if question.kind == Question.Kind.SINGLE:
                return forms.ChoiceField(
                    label=label, required=False, choices=choices, widget=forms.RadioSelect
                )
            return forms.MultipleChoiceField(
                label=label, required=False, choices=choices, widget=forms.CheckboxSelectMultiple
            )
        if question.kind == Question.Kind.SCALE:
            return forms.ChoiceField(
                label=label,
                required=False,
                choices=[(str(n), str(n)) for n in services.SCALE_VALUES],
                widget=forms.RadioSelect,
            )
        if question.kind == Question.Kind.NUMBER:
            # Parsed as a decimal by the service, with a Japanese message.
            return forms.CharField(
                label=label,
                required=False,
                max_length=40,
                widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
            )
        return forms.CharField(
            label=label,
            required=False,
            widget=forms.Textarea(attrs={"rows": 5, "maxlength": services.TEXT_MAX_LENGTH}),
        )

    def clean(self):
        cleaned = super().clean()
        data: dict = {}
        for question in self.questions:
            name = services.field_name(question)
            if name in self.errors:
                continue
            value = cleaned.get(name)
            if question.has_choices:
                data[question.pk] = {
                    "choices": value or [],
                    "other": cleaned.get(name + "_other", ""),
                }
            else:
                data[question.pk] = value
        _answers, errors = services.clean_answers(
            survey=self.survey,
            organisation_kind=self.organisation_kind,
            data=data,
            require=self.require,
        )
        for name, message in errors.items():
            if name in self.fields and name not in self.errors:
                self.add_error(name, message)
        self.answers_data = data
        return cleaned

    def add_service_error(self, error: services.SurveyError) -> None:
        """Show a refusal of save_answers on the form (per question when it names one)."""
        if hasattr(error, "error_dict"):
            for name, errors in error.message_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        else:
            self.add_error(None, error.messages)

    def show_errors(self, error: services.SurveyError) -> None:
        """Show a refusal on an unbound form (the stored draft, re-displayed)."""
        if self._errors is None:
            self._errors = ErrorDict()
            self.cleaned_data = {}
        self.add_service_error(error)

    # --- drawing -----------------------------------------------------------------------

    @property
    def rows(self) -> list[Row]:
        numbers = {q.pk: n for n, q in enumerate(self.questions, start=1)}
        rows = []
        for question in self.questions:
            name = services.field_name(question)
            bound = self[name]
            row = Row(question=question, number=numbers[question.pk], name=name, bound=bound)
            value = row.value
            chosen = {str(v) for v in value} if isinstance(value, (list, tuple)) else {str(value)}
            if question.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE, Question.Kind.SCALE):
                row.options = [
                    Option(
                        value=str(v),
                        label=str(label),
                        checked=str(v) in chosen,
                        id=f"id_{name}_{i}",
                    )
                    for i, (v, label) in enumerate(bound.field.choices)
                ]
            if name + "_other" in self.fields:
                row.other = self[name + "_other"]
                row.other_checked = OTHER_CHOICE in chosen
            condition = question.show_if_question_id
            if condition is not None and condition in numbers:
                row.condition_name = f"q{condition}"
                row.condition = _("Q%(n)dで「%(value)s」と答えた方にお聞きします。") % {
                    "n": numbers[condition],
                    "value": question.show_if_value,
                }
            rows.append(row)
        return rows

    @property
    def error_summary(self) -> list[tuple[str, str, str]]:
        """(anchor, question label, message) for the list at the top of the form."""
        numbers = {services.field_name(q): (n, q) for n, q in enumerate(self.questions, start=1)}
        summary = []
        for name, errors in self.errors.items():
            base = name.removesuffix("_other")
            if base in numbers:
                number, question = numbers[base]
                for message in errors:
                    summary.append((f"question-{question.pk}", f"Q{number}", message))
        return summary
