"""Search forms of the secretariat's event pages (django-filter).

Bad input (?status=nonsense, ?session=abc) becomes a form error shown above
the list and an empty result, never a 500.
"""

import django_filters
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from core.templatetags.wareki import wareki_fy
from network.enums import OrganisationKind
from network.filters import QUERY_MAX_LENGTH, normalise_query, to_hiragana

from .models import Event, Registration

NO_ORGANISATION = "none"
NO_SESSION = "none"


def _registration_count(**conditions):
    # A correlated subquery per row instead of Count() over a join: the
    # paginator's COUNT stays a plain count of events, and only the 50 rows of
    # the page pay for their counts.
    counts = (
        Registration.objects.filter(event=OuterRef("pk"), **conditions)
        .order_by()
        .values("event")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def with_registration_counts(events):
    return events.annotate(
        confirmed_count=_registration_count(status=Registration.Status.CONFIRMED),
        waitlisted_count=_registration_count(status=Registration.Status.WAITLISTED),
        attended_count=_registration_count(attended=True),
        # Event.can_be_deleted reads it: the row's 削除 costs no query of its own.
        has_registrations=Exists(Registration.objects.filter(event=OuterRef("pk"))),
    )


def search_registrations(queryset, text):
    """Registration.objects.search for every word of `text`; a word typed in
    katakana also finds kana stored in hiragana (「ヤマダ」 finds 「やまだ」)."""
    for term in normalise_query(text):
        hiragana = to_hiragana(term)
        matches = queryset.search(term)
        if hiragana != term:
            matches = matches | queryset.search(hiragana)
        queryset = matches
    return queryset


class EventManageFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("キーワード"),
        method="filter_text",
        max_length=QUERY_MAX_LENGTH,
        help_text=_("名称・テーマ"),
    )
    fiscal_year = django_filters.ChoiceFilter(label=_("年度"), empty_label=_("すべて"))
    status = django_filters.ChoiceFilter(
        label=_("状態"), choices=Event.Status.choices, empty_label=_("すべて")
    )
    kind = django_filters.ChoiceFilter(
        label=_("種類"), choices=Event.Kind.choices, empty_label=_("すべて")
    )

    class Meta:
        model = Event
        fields = ["q", "fiscal_year", "status", "kind"]

    def __init__(self, *args, fiscal_years=(), **kwargs):
        super().__init__(*args, **kwargs)
        # The years that have events, read once by the view.
        self.filters["fiscal_year"].extra["choices"] = [
            (str(year), f"{wareki_fy(year)}（{year}）") for year in fiscal_years
        ]

    def filter_text(self, queryset, name, value):
        for term in normalise_query(value):
            queryset = queryset.filter(Q(title__icontains=term) | Q(theme__icontains=term))
        return queryset

    @property
    def qs(self):
        if self.is_bound and not self.is_valid():
            return self.queryset.none()
        return with_registration_counts(super().qs.select_related("municipality")).order_by(
            "-starts_at", "-pk"
        )


class RegistrationManageFilter(django_filters.FilterSet):
    YES_NO = (("yes", _("はい")), ("no", _("いいえ")))

    q = django_filters.CharFilter(
        label=_("キーワード"),
        method="filter_text",
        max_length=QUERY_MAX_LENGTH,
        help_text=_("氏名・かな・メール・所属"),
    )
    status = django_filters.ChoiceFilter(
        label=_("状態"),
        choices=Registration.Status.choices,
        empty_label=_("キャンセル以外"),
        method="filter_status",
    )
    mode = django_filters.ChoiceFilter(
        label=_("参加方法"), choices=Registration.Mode.choices, empty_label=_("すべて")
    )
    session = django_filters.ChoiceFilter(
        label=_("分科会"), empty_label=_("すべて"), method="filter_session"
    )
    social = django_filters.ChoiceFilter(
        label=_("懇親会"), choices=Registration.SocialStatus.choices, empty_label=_("すべて")
    )
    org_kind = django_filters.ChoiceFilter(
        label=_("所属の種別"),
        choices=[*OrganisationKind.choices, (NO_ORGANISATION, _("登録組織なし"))],
        empty_label=_("すべて"),
        method="filter_org_kind",
    )
    attended = django_filters.ChoiceFilter(
        label=_("出席"), choices=YES_NO, empty_label=_("すべて"), method="filter_attended"
    )

    class Meta:
        model = Registration
        fields = ["q", "status", "mode", "session", "social", "org_kind", "attended"]

    def __init__(self, *args, sessions=(), **kwargs):
        super().__init__(*args, **kwargs)
        # The event's sessions are read once by the view (they are also counted).
        self.filters["session"].extra["choices"] = [
            *((str(s.pk), s.title) for s in sessions),
            (NO_SESSION, _("分科会なし")),
        ]

    def filter_text(self, queryset, name, value):
        return search_registrations(queryset, value)

    def filter_status(self, queryset, name, value):
        return queryset.filter(status=value)

    def filter_session(self, queryset, name, value):
        if value == NO_SESSION:
            return queryset.filter(session__isnull=True)
        return queryset.filter(session_id=int(value))

    def filter_org_kind(self, queryset, name, value):
        if value == NO_ORGANISATION:
            return queryset.filter(organisation__isnull=True)
        return queryset.filter(organisation__kind=value)

    def filter_attended(self, queryset, name, value):
        return queryset.filter(attended=value == "yes")

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        # Cancelled registrations are shown only when asked for.
        if not self.form.cleaned_data.get("status"):
            queryset = queryset.active()
        return queryset

    @property
    def qs(self):
        if self.is_bound and not self.is_valid():
            return self.queryset.none()
        return (
            super()
            .qs.select_related("user", "organisation", "session")
            .order_by("user__full_name_kana", "user__email", "pk")
        )
