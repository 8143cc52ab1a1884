"""Search forms of the secretariat's survey pages (django-filter).

Bad input (?status=nonsense, ?fiscal_year=abc) becomes a form error shown
above the list and an empty result, never a 500.
"""

import django_filters
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.templatetags.wareki import wareki_fy
from network.filters import QUERY_MAX_LENGTH, normalise_query, to_hiragana
from network.models import Organisation

from .enums import SurveyKind, SurveyState
from .models import Invitation, Survey

NO_ORGANISATION = "none"


def _invitation_count(**conditions):
    # A correlated subquery per row instead of Count() over a join: the
    # paginator's COUNT stays a plain count of surveys, and only the rows of
    # the page pay for their counts.
    counts = (
        Invitation.objects.filter(survey=OuterRef("pk"), **conditions)
        .order_by()
        .values("survey")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def with_invitation_counts(surveys):
    return surveys.annotate(
        invited_count=_invitation_count(),
        answered_count=_invitation_count(responded_at__isnull=False),
    )


class SurveyManageFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("タイトル"), method="filter_text", max_length=QUERY_MAX_LENGTH
    )
    fiscal_year = django_filters.ChoiceFilter(label=_("年度"), empty_label=_("すべて"))
    kind = django_filters.ChoiceFilter(
        label=_("種類"), choices=SurveyKind.choices, empty_label=_("すべて")
    )
    status = django_filters.ChoiceFilter(
        label=_("状態"), choices=SurveyState.choices, empty_label=_("すべて"), method="filter_state"
    )

    class Meta:
        model = Survey
        fields = ["q", "fiscal_year", "kind", "status"]

    def __init__(self, *args, fiscal_years=(), **kwargs):
        super().__init__(*args, **kwargs)
        # The years that have surveys, read once by the view.
        self.filters["fiscal_year"].extra["choices"] = [
            (str(year), f"{wareki_fy(year)}（{year}）") for year in fiscal_years
        ]

    def filter_text(self, queryset, name, value):
        for term in normalise_query(value):
            queryset = queryset.filter(title__icontains=term)
        return queryset

    def filter_state(self, queryset, name, value):
        return queryset.in_state(SurveyState(value), timezone.now())

    @property
    def qs(self):
        if self.is_bound and not self.is_valid():
            return self.queryset.none()
        return with_invitation_counts(super().qs.select_related("event")).order_by(
            "-opens_at", "-pk"
        )


def search_invitations(queryset, text):
    """Every word of `text` in the recipient's name, kana or e-mail or the
    organisation's name or kana; katakana also finds kana stored in hiragana."""
    for term in normalise_query(text):
        hiragana = to_hiragana(term)
        condition = (
            Q(user__full_name__icontains=term)
            | Q(email__icontains=term)
            | Q(user__email__icontains=term)
            | Q(organisation__name__icontains=term)
        )
        for kana in {term, hiragana}:
            condition |= Q(user__full_name_kana__icontains=kana) | Q(
                organisation__kana__icontains=kana
            )
        queryset = queryset.filter(condition)
    return queryset


class InvitationFilter(django_filters.FilterSet):
    ANSWERED = (("yes", _("回答済み")), ("no", _("未回答")))

    q = django_filters.CharFilter(
        label=_("氏名・メール・組織名"), method="filter_text", max_length=QUERY_MAX_LENGTH
    )
    answered = django_filters.ChoiceFilter(
        label=_("回答"), choices=ANSWERED, empty_label=_("すべて"), method="filter_answered"
    )
    org_kind = django_filters.ChoiceFilter(
        label=_("組織の種別"),
        choices=[*Organisation.Kind.choices, (NO_ORGANISATION, _("組織なし"))],
        empty_label=_("すべて"),
        method="filter_org_kind",
    )

    class Meta:
        model = Invitation
        fields = ["q", "answered", "org_kind"]

    def filter_text(self, queryset, name, value):
        return search_invitations(queryset, value)

    def filter_answered(self, queryset, name, value):
        return queryset.filter(responded_at__isnull=value != "yes")

    def filter_org_kind(self, queryset, name, value):
        if value == NO_ORGANISATION:
            return queryset.filter(organisation__isnull=True)
        return queryset.filter(organisation__kind=value)

    @property
    def qs(self):
        if self.is_bound and not self.is_valid():
            return self.queryset.none()
        return (
            super()
            .qs.select_related("user", "organisation")
            .order_by(
                "organisation__kind", "organisation__kana", "user__full_name_kana", "email", "pk"
            )
        )
