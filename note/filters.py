"""List filters of the board and the note (django-filter, with the site's
input rules: a bad id or an unknown choice is a form error, never a 500).

Free-text search goes through note.search, the one seam the Japanese search
design will replace."""

import django_filters
from django.utils.translation import gettext_lazy as _

from core import filters as site_filters
from network.models import Program, Region

from . import search
from .enums import Function, TopicFilter
from .models import NoteEntry, Topic


class TopicFilterSet(site_filters.FilterSet):
    show = django_filters.ChoiceFilter(
        label=_("表示"),
        choices=[(c.value, c.label) for c in TopicFilter if c != TopicFilter.ALL],
        empty_label=_("すべて"),
        method="filter_show",
    )
    q = django_filters.CharFilter(
        label=_("キーワード"), method="filter_q", max_length=search.QUERY_MAX_LENGTH
    )

    class Meta:
        model = Topic
        fields = ["show", "q"]

    def filter_show(self, queryset, name, value):
        return queryset.filtered(TopicFilter(value)) if value else queryset

    def filter_q(self, queryset, name, value):
        # Validated here, searched by the view: note.search.ranked_page pages
        # the matches best first.
        return queryset


class NoteEntryFilterSet(site_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("キーワード"), method="filter_q", max_length=search.QUERY_MAX_LENGTH
    )
    program = site_filters.ModelChoiceFilter(
        label=_("事業"), field_name="programs", queryset=Program.objects.all()
    )
    function = django_filters.ChoiceFilter(
        label=_("機能"),
        field_name="function_rows__function",
        choices=Function.choices,
        empty_label=_("すべて"),
    )
    region = site_filters.ModelChoiceFilter(
        label=_("振興局"), field_name="regions", queryset=Region.objects.all()
    )

    class Meta:
        model = NoteEntry
        fields = ["q", "program", "function", "region"]

    def filter_q(self, queryset, name, value):
        # As TopicFilterSet.filter_q: the view ranks by it.
        return queryset
