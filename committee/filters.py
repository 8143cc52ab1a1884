"""Search form of the needs register (django-filter).

Bad input (?status=nonsense, ?owner=abc, ?fiscal_year=1) becomes a form error
shown above the list and an empty result, never a 500. The board counts what
the list shows, except that it ignores the status and function filters: it is
the grid those two pick a cell of.
"""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core import filters as site_filters
from core.templatetags.wareki import wareki_fy
from network.filters import QUERY_MAX_LENGTH, normalise_query

from .access import triage_users
from .enums import NeedFunction, NeedSource, NeedStatus
from .models import Need

UNCLASSIFIED = "none"
BOARD_AXES = ("status", "function")


class NeedFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("キーワード"),
        method="filter_text",
        max_length=QUERY_MAX_LENGTH,
        help_text=_("件名・内容・メモ"),
    )
    status = django_filters.ChoiceFilter(
        label=_("状態"), choices=NeedStatus.choices, empty_label=_("すべて")
    )
    function = django_filters.ChoiceFilter(
        label=_("機能"),
        choices=[
            *((str(v), label) for v, label in NeedFunction.choices),
            (UNCLASSIFIED, _("未分類")),
        ],
        empty_label=_("すべて"),
        method="filter_function",
    )
    fiscal_year = django_filters.ChoiceFilter(label=_("年度"), empty_label=_("すべて"))
    source = django_filters.ChoiceFilter(
        label=_("出どころ"), choices=NeedSource.choices, empty_label=_("すべて")
    )
    owner = site_filters.ModelChoiceFilter(
        label=_("担当者"), queryset=triage_users(), empty_label=_("すべて")
    )

    class Meta:
        model = Need
        fields = ["q", "status", "function", "fiscal_year", "source", "owner"]

    def __init__(self, *args, fiscal_years=(), **kwargs):
        super().__init__(*args, **kwargs)
        # The years that have needs, read once by the view.
        self.filters["fiscal_year"].extra["choices"] = [
            (str(year), f"{wareki_fy(year)}（{year}）") for year in fiscal_years
        ]

    def filter_text(self, queryset, name, value):
        for term in normalise_query(value):
            queryset = queryset.filter(
                Q(title__icontains=term) | Q(text__icontains=term) | Q(notes__icontains=term)
            )
        return queryset

    def filter_function(self, queryset, name, value):
        if value == UNCLASSIFIED:
            return queryset.filter(function__isnull=True)
        return queryset.filter(function=int(value))

    @property
    def is_filtered(self) -> bool:
        return self.is_bound and any(self.data.get(name) for name in self.form.fields)

    def _apply(self, skip=()):
        queryset = self.queryset.all()
        if not self.is_bound:
            return queryset
        for name, value in self.form.cleaned_data.items():
            if name not in skip:
                queryset = self.filters[name].filter(queryset, value)
        return queryset

    @property
    def qs(self):
        if not hasattr(self, "_qs"):
            if self.is_bound and not self.is_valid():
                self._qs = self.queryset.none()
            else:
                self._qs = self._apply().order_by("-created_at", "-pk")
        return self._qs

    def board_queryset(self):
        """The filtered needs without the status and function filters."""
        if self.is_bound and not self.is_valid():
            return self.queryset.none()
        return self._apply(skip=BOARD_AXES)
