"""The secretariat's search of the applications (django-filter).

Bad input (?fy=1999, ?menu=abc, ?status=nonsense) becomes a form error shown
above the list and an empty result, never a 500. The list page fills in its
defaults (the current 年度, the 「未対応」 preset) only for a parameter that is
absent, so 「すべて」 stays choosable; `effective_data` hands the same values to
the export links, so a file holds what the page shows.
"""

from __future__ import annotations

import django_filters
from django.db.models import Case, IntegerField, Value, When
from django.utils.translation import gettext_lazy as _

from core import filters as site_filters
from core.dates import FIRST_FISCAL_YEAR, current_fiscal_year, last_fiscal_year
from core.templatetags.wareki import wareki_fy
from network.enums import OrganisationKind
from network.models import Region

from .enums import PENDING_STATUSES, ApplicationStatus
from .models import Application, Menu

PENDING = "pending"
STATUS_CHOICES = [(PENDING, _("未対応（受付・保留）")), *ApplicationStatus.choices]


def fiscal_year_choices() -> list[tuple[str, str]]:
    """Every 年度 the portal knows, newest first, as 令和N年度（YYYY）."""
    return [
        (str(year), f"{wareki_fy(year)}（{year}）")
        for year in range(last_fiscal_year(), FIRST_FISCAL_YEAR - 1, -1)
    ]


def default_data() -> dict[str, str]:
    """What the list shows when a parameter is absent."""
    return {"fy": str(current_fiscal_year()), "status": PENDING}


def with_defaults(query) -> dict:
    """The query (a QueryDict) with the list's defaults for absent parameters."""
    data = query.copy()
    for name, value in default_data().items():
        if name not in data:
            data[name] = value
    return data


class ApplicationFilter(site_filters.FilterSet):
    fy = django_filters.ChoiceFilter(
        label=_("年度"), field_name="fiscal_year", choices=(), empty_label=_("すべて")
    )
    menu = site_filters.ModelChoiceFilter(label=_("メニュー"), queryset=Menu.objects.all())
    status = django_filters.ChoiceFilter(
        label=_("状態"), choices=STATUS_CHOICES, empty_label=_("すべて"), method="filter_status"
    )
    kind = django_filters.ChoiceFilter(
        label=_("組織種別"),
        field_name="organisation__kind",
        choices=OrganisationKind.choices,
        empty_label=_("すべて"),
    )
    region = site_filters.ModelChoiceFilter(
        label=_("振興局"), field_name="organisation__region", queryset=Region.objects.all()
    )

    class Meta:
        model = Application
        fields = ["fy", "menu", "status", "kind", "region"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["fy"].extra["choices"] = fiscal_year_choices()

    def filter_status(self, queryset, name, value):
        if value == PENDING:
            return queryset.pending()
        return queryset.filter(status=value)

    def chosen_fiscal_year(self) -> int | None:
        """The 年度 the list is narrowed to (None: every 年度, or bad input)."""
        if self.is_bound and self.is_valid() and self.form.cleaned_data.get("fy"):
            return int(self.form.cleaned_data["fy"])
        return None

    @property
    def qs(self):
        # Invalid input shows its error and an empty list rather than silently
        # ignoring the bad filter. Waiting ones first, then the newest.
        if not hasattr(self, "_qs"):
            if self.is_bound and not self.is_valid():
                self._qs = self.queryset.none()
            else:
                self._qs = (
                    self.filter_queryset(self.queryset.all())
                    .annotate(
                        waiting=Case(
                            When(status__in=PENDING_STATUSES, then=Value(0)),
                            default=Value(1),
                            output_field=IntegerField(),
                        )
                    )
                    .order_by("waiting", "-submitted_at", "-pk")
                )
        return self._qs
