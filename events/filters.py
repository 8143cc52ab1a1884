"""Search form for the event list (django-filter).

Every filter validates its input: a year that is not offered, a kind that does
not exist or ?region=abc become form errors shown above the list, never a 500.
"""

import django_filters
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from core import filters as site_filters
from core.templatetags.wareki import wareki_fy
from network.filters import QUERY_MAX_LENGTH, normalise_query
from network.models import Region

from .models import Event, Session


class EventFilter(django_filters.FilterSet):
    fiscal_year = django_filters.ChoiceFilter(label=_("年度"), choices=(), empty_label=_("すべて"))
    kind = django_filters.ChoiceFilter(
        label=_("種類"), choices=Event.Kind.choices, empty_label=_("すべて")
    )
    region = site_filters.ModelChoiceFilter(
        label=_("振興局"),
        field_name="municipality__region",
        queryset=Region.objects.all(),
        empty_label=_("すべて"),
    )
    theme = django_filters.CharFilter(
        label=_("テーマ"),
        method="filter_theme",
        max_length=QUERY_MAX_LENGTH,
        help_text=_("名称・テーマ・分科会のテーマから探します"),
    )
    format = django_filters.ChoiceFilter(
        label=_("開催形式"), choices=Event.Format.choices, empty_label=_("すべて")
    )

    class Meta:
        model = Event
        fields = ["fiscal_year", "kind", "region", "theme", "format"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the years that have events the visitor may see (one small
        # query), newest first, shown as 令和N年度.
        years = (
            self.queryset.order_by("-fiscal_year").values_list("fiscal_year", flat=True).distinct()
        )
        self.filters["fiscal_year"].extra["choices"] = [
            (str(year), wareki_fy(year)) for year in years
        ]

    def filter_theme(self, queryset, name, value):
        for term in normalise_query(value):
            # EXISTS rather than a join: an event with two matching sessions
            # must still appear once, without DISTINCT over the whole list.
            sessions = Session.objects.filter(event=OuterRef("pk"), title__icontains=term)
            queryset = queryset.filter(
                Q(title__icontains=term) | Q(theme__icontains=term) | Exists(sessions)
            )
        return queryset

    @property
    def qs(self):
        # Invalid input shows its error and an empty list rather than silently
        # ignoring the bad filter.
        if self.is_bound and not self.is_valid():
            return self.queryset.none()
        return super().qs
