"""django-filter classes with the site's input rules (see core.forms): a
submitted id that cannot be a row's key is a form error, found before any query.

A filter's empty choice says 「すべて」 (nothing filtered), never 「---------」:
`FilterSet` builds its form with the site's empty-choice labels, and the model
choice filters default to it."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from django_filters import fields

from .forms import CheckedKeyMixin, CheckedKeysMixin, EmptyChoiceLabels, InputRules

ALL_LABEL = _("すべて")


class FilterForm(InputRules, EmptyChoiceLabels, forms.Form):
    """The form of every filter: an empty choice means no filter."""

    empty_choice_label = ALL_LABEL
    optional_choice_label = ALL_LABEL


class FilterSet(django_filters.FilterSet):
    """Base of the site's filters."""

    def get_form_class(self):
        form_class = super().get_form_class()
        if issubclass(form_class, EmptyChoiceLabels):
            return form_class
        return type(form_class.__name__, (FilterForm, form_class), {})


class _ModelChoiceField(CheckedKeyMixin, fields.ModelChoiceField):
    pass


class _ModelMultipleChoiceField(CheckedKeysMixin, fields.ModelMultipleChoiceField):
    pass


class ModelChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = _ModelChoiceField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("empty_label", ALL_LABEL)
        super().__init__(*args, **kwargs)


class ModelMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    field_class = _ModelMultipleChoiceField
