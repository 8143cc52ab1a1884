"""What every form of the site shares: how it renders, and the input rules
that hold for every field whatever form it is on.

- Text: a single-line field (any CharField whose widget is not a Textarea)
  takes no line breaks or other control characters, so a name or a title can
  never break a mail header or a CSV row; a multi-line field keeps its line
  breaks and tabs but no other control characters. The rules are added to
  every CharField when the form is validated (`InputRules`), so fields that a
  form adds in its __init__ get them too.
- Choices of model rows: a submitted id that is not a whole number in the
  database's integer range is an invalid choice, found before any query
  (SQLite cannot even bind a 40-digit number; PostgreSQL would compare it as
  numeric). Use `ModelChoiceField` / `ModelMultipleChoiceField` from here, and
  `formfield` as the `formfield_callback` of model forms (`ModelForm` does).
- Empty choices say what to choose: Django's 「---------」 (a model field's
  blank choice, a ModelChoiceField's empty_label) becomes 「選択してください」
  on a required field and 「指定なし」 on an optional one (`EmptyChoiceLabels`,
  applied when a field is rendered, so choices set in a form's __init__ are
  covered too; filter forms say 「すべて」, see core.filters). A label a form
  sets on purpose is kept.
- A long select can be filtered by typing (`SearchableSelect`, static/js/site.js):
  the select itself still works without JavaScript.
- Help texts are plain text and are escaped like everything else. A help text
  that needs markup must be built with `format_html`, which escapes its
  arguments; nothing a user wrote is ever marked safe.
"""

import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.forms.models import ModelFormMetaclass
from django.forms.renderers import TemplatesSetting
from django.utils.choices import BlankChoiceIterator
from django.utils.translation import gettext_lazy as _

from . import privacy

# Line breaks and tabs are text in a multi-line field; every other control
# character (C0, DEL, C1) is never typed on purpose.
MULTI_LINE_ALLOWED = frozenset("\t\n\r")
# Unicode's own line and paragraph separators break a line as surely as LF.
LINE_SEPARATORS = frozenset("\u2028\u2029")

SINGLE_LINE_MESSAGE = _("改行やタブなどの制御文字は入力できません。1行で入力してください。")
CONTROL_CHARACTER_MESSAGE = _("制御文字は入力できません。")


class SiteFormRenderer(TemplatesSetting):
    """Every form renders its fields the same way: label, required mark, help
    text, errors tied to the input with aria-describedby."""

    form_template_name = "core/forms/form.html"
    field_template_name = "core/forms/field.html"


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc"


def validate_single_line(value) -> None:
    """No line breaks, tabs or other control characters."""
    if isinstance(value, str) and any(_is_control(c) or c in LINE_SEPARATORS for c in value):
        raise ValidationError(SINGLE_LINE_MESSAGE, code="single_line")


def validate_multi_line(value) -> None:
    """Line breaks and tabs, but no other control characters."""
    if isinstance(value, str) and any(
        _is_control(c) and c not in MULTI_LINE_ALLOWED for c in value
    ):
        raise ValidationError(CONTROL_CHARACTER_MESSAGE, code="control_character")


def multi_line(field: forms.CharField) -> forms.CharField:
    """Mark a CharField that is not drawn as a Textarea (a hidden field
    carrying a free-text answer) as holding several lines."""
    field.multi_line = True
    return field


def is_multi_line(field: forms.Field) -> bool:
    return getattr(field, "multi_line", False) or isinstance(field.widget, forms.Textarea)


def add_text_rules(field: forms.Field) -> None:
    """Give a CharField the control-character rule that fits its widget (once)."""
    if not isinstance(field, forms.CharField):
        return
    rule = validate_multi_line if is_multi_line(field) else validate_single_line
    if rule not in field.validators:
        field.validators = [
            v for v in field.validators if v not in (validate_single_line, validate_multi_line)
        ] + [rule]


class InputRules:
    """Mixin for every form of the site: the text rules above on every
    CharField, including those added after the form was built."""

    def full_clean(self):
        for field in self.fields.values():
            add_text_rules(field)
        super().full_clean()


# --- model choices -------------------------------------------------------------------------

INTEGER_FIELD_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
    }
)


def _key_field(queryset, to_field_name):
    opts = queryset.model._meta
    field = opts.get_field(to_field_name) if to_field_name else opts.pk
    # A foreign key used as the key (a one-to-one primary key) holds the
    # target's key.
    while field.is_relation:
        field = field.target_field
    return field


def is_storable_key(queryset, to_field_name, value) -> bool:
    """False for a submitted value that cannot be a row's key: not a whole
    number, or outside the integer range of the database. Other key types
    (text, UUID) are left to the usual lookup."""
    if value in (None, ""):
        return True
    field = _key_field(queryset, to_field_name)
    internal_type = field.get_internal_type()
    if internal_type not in INTEGER_FIELD_TYPES:
        return True
    try:
        number = field.to_python(value)
    except ValidationError:
        return False
    low, high = connections[queryset.db].ops.integer_field_range(internal_type)
    return low <= number <= high


def _is_null_choice(field, value) -> bool:
    # django-filter's "no value" choice, which its fields let through.
    return getattr(field, "null_label", None) is not None and value == field.null_value


def _invalid_choice(field, value) -> ValidationError:
    return ValidationError(
        field.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
    )


class CheckedKeyMixin:
    """For a ModelChoiceField: the submitted id is checked before it is looked up."""

    def to_python(self, value):
        if not (
            value in self.empty_values
            or isinstance(value, self.queryset.model)
            or _is_null_choice(self, value)
            or is_storable_key(self.queryset, self.to_field_name, value)
        ):
            raise _invalid_choice(self, value)
        return super().to_python(value)


class CheckedKeysMixin:
    """For a ModelMultipleChoiceField: the submitted ids are checked before
    they are looked up."""

    def _check_values(self, value):
        try:
            values = frozenset(value)
        except TypeError:
            return super()._check_values(value)  # reported as an invalid list
        for item in values:
            if not (
                isinstance(item, self.queryset.model)
                or _is_null_choice(self, item)
                or is_storable_key(self.queryset, self.to_field_name, item)
            ):
                raise _invalid_choice(self, item)
        return super()._check_values(value)


class ModelChoiceField(CheckedKeyMixin, forms.ModelChoiceField):
    pass


class ModelMultipleChoiceField(CheckedKeysMixin, forms.ModelMultipleChoiceField):
    pass


def formfield(db_field, **kwargs):
    """The formfield_callback of the site's model forms."""
    if isinstance(db_field, models.URLField):
        # People type "example.org" without a scheme; today's sites are https.
        kwargs.setdefault("assume_scheme", "https")
    elif isinstance(db_field, models.ManyToManyField):
        kwargs.setdefault("form_class", ModelMultipleChoiceField)
    elif isinstance(db_field, models.ForeignKey):
        kwargs.setdefault("form_class", ModelChoiceField)
    return db_field.formfield(**kwargs)


# --- empty choices ------------------------------------------------------------------------

# What Django writes for "nothing chosen" when nobody said otherwise.
DJANGO_EMPTY_LABEL = "---------"
EMPTY_CHOICE_LABEL = _("選択してください")
OPTIONAL_CHOICE_LABEL = _("指定なし")


def _relabelled(choices, label):
    """`choices` with Django's dashes replaced by `label`, or None when there
    is nothing to replace (or the choices are computed lazily)."""
    # A model field's choices come wrapped with their blank choice; they are
    # fixed, so reading them is free. Choices computed by a callable are left
    # alone (reading them could query the database on every form).
    if not isinstance(choices, (list, tuple, BlankChoiceIterator)):
        return None
    choices = list(choices)
    if not any(value == "" and text == DJANGO_EMPTY_LABEL for value, text in choices):
        return None
    return [
        (value, label if value == "" and text == DJANGO_EMPTY_LABEL else text)
        for value, text in choices
    ]


def label_empty_choice(field: forms.Field, *, required_label, optional_label) -> None:
    """Give a select's empty choice words that say what to choose (once)."""
    label = required_label if field.required else optional_label
    # Fields that build their empty choice from `empty_label` when rendered:
    # ModelChoiceField, and django-filter's choice fields.
    if getattr(field, "empty_label", None) == DJANGO_EMPTY_LABEL:
        field.empty_label = label
        if not isinstance(field.widget.choices, (list, tuple)):
            # A form's copy of a field can leave its widget iterating over the
            # class-level field; bind the widget to this one.
            field.widget.choices = field.choices
    if isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField):
        choices = _relabelled(getattr(field, "_choices", None), label)
        if choices is not None:
            field.choices = choices
    widget_choices = _relabelled(getattr(field.widget, "choices", None), label)
    if widget_choices is not None:
        field.widget.choices = widget_choices


class EmptyChoiceLabels:
    """Mixin for every form of the site: no select offers 「---------」."""

    empty_choice_label = EMPTY_CHOICE_LABEL
    optional_choice_label = OPTIONAL_CHOICE_LABEL

    def __getitem__(self, name):
        # Rendering goes through here, after every __init__ has set its choices.
        bound = super().__getitem__(name)
        label_empty_choice(
            bound.field,
            required_label=self.empty_choice_label,
            optional_label=self.optional_choice_label,
        )
        return bound


class SearchableSelect(forms.Select):
    """A long select (the 179 市町村) that can be narrowed down by typing:
    static/js/site.js puts a search box above it, labelled `search_label`.
    Each option carries its reading (`kana`, when the choice is a model row
    that has one), so 「さっぽろ」 finds 札幌市."""

    def __init__(self, attrs=None, choices=(), *, search_label=None):
        super().__init__(attrs, choices)
        self.search_label = search_label or _("名前で絞り込む")

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"]["data-searchable"] = str(self.search_label)
        context["widget"]["attrs"]["data-search-count"] = str(_("該当 {n} 件"))
        return context

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        kana = getattr(getattr(value, "instance", None), "kana", "")
        if kana:
            option["attrs"]["data-kana"] = kana
        return option


class HoneypotField(forms.Field):
    """A field people never see (the template hides it); a bot that fills
    every input fills it too. It takes anything without an error, so a bot's
    NUL byte or 10,000 characters are discarded as quietly as a plain word
    (the view answers as for a person) instead of showing the form again
    with an error no person can see. The cleaned value is True when filled."""

    widget = forms.TextInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value) -> bool:
        return bool(value)


class Form(InputRules, EmptyChoiceLabels, forms.Form):
    """Base of the site's plain forms."""


class _ModelFormMetaclass(ModelFormMetaclass):
    def __new__(mcs, name, bases, attrs):
        # Every model form builds its fields with `formfield`, unless its
        # Meta names another callback on purpose.
        meta = attrs.get("Meta")
        if meta is not None and not hasattr(meta, "formfield_callback"):
            meta.formfield_callback = formfield
        return super().__new__(mcs, name, bases, attrs)


class ModelForm(InputRules, EmptyChoiceLabels, forms.ModelForm, metaclass=_ModelFormMetaclass):
    """Base of the site's model forms."""


def error_text(error: ValidationError) -> str:
    """A service's ValidationError as one line for a message or a field error."""
    return " ".join(error.messages)


# --- the privacy guard on free texts others read (core.privacy) ----------------------

CONFIRM_LABEL = _("実在の人物についての内容ではありません")
CONFIRM_FIELD = "confirm_not_real_person"


class PrivacyGuardMixin:
    """Checks `privacy_fields` with core.privacy before the form is valid: what
    could identify a person is shown highlighted (templates/core/_privacy_flags.html)
    and the form is refused until it is rewritten or the author confirms it is
    not about a real person (`privacy_confirmed`; what happens then is the
    app's: the board holds the post for review). Call add_privacy_confirmation()
    in __init__."""

    privacy_fields: tuple[str, ...] = ()
    # What confirming leads to, said under the checkbox (the board's by default).
    privacy_confirm_help = _("確認すると、事務局が内容を確かめてから、ほかの会員に表示されます。")

    def add_privacy_confirmation(self) -> None:
        self.fields[CONFIRM_FIELD] = forms.BooleanField(
            label=CONFIRM_LABEL, required=False, help_text=self.privacy_confirm_help
        )
        self.privacy_flags: list[tuple[str, object]] = []
        self.privacy_description = ""

    def _privacy_text(self, name: str, cleaned: dict) -> str:
        value = cleaned.get(name)
        if isinstance(value, list):  # tags
            return " ".join(value)
        return value or ""

    def clean(self):
        cleaned = super().clean()
        findings = []
        self.privacy_flags = []
        for name in self.privacy_fields:
            text = self._privacy_text(name, cleaned)
            found = privacy.find(text)
            if found:
                findings += found
                self.privacy_flags.append((self.fields[name].label, privacy.highlight(text)))
        self.privacy_description = privacy.describe(findings)
        if findings and not cleaned.get(CONFIRM_FIELD):
            raise ValidationError(
                _(
                    "個人が特定されるおそれのある内容（%(found)s）が見つかりました。"
                    "書き直すか、実在の人物についての内容ではないことを確認してください。"
                ),
                code="privacy",
                params={"found": self.privacy_description},
            )
        return cleaned

    @property
    def privacy_confirmed(self) -> bool:
        return bool(self.cleaned_data.get(CONFIRM_FIELD))

    @property
    def main_fields(self):
        """Every visible field but the confirmation, which the page shows
        next to the findings (and only when there are any)."""
        return [field for field in self.visible_fields() if field.name != CONFIRM_FIELD]

    @property
    def confirm_field(self):
        return self[CONFIRM_FIELD]
