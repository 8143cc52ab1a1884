"""Search forms for the network's lists (django-filter).

Every filter validates its input: a value that is not a choice (?region=99999,
?municipality=abc) becomes a form error shown above the list, never a 500.
"""

import unicodedata

import django_filters
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.forms.models import ModelChoiceIteratorValue
from django.utils.translation import gettext_lazy as _

from core import filters as site_filters
from core import forms as site_forms

from .forms_joining import MUNICIPALITY_SEARCH
from .models import Membership, Municipality, Organisation, Program, Region, User

QUERY_MAX_LENGTH = 100


def normalise_query(value: str) -> list[str]:
    """Split a free-text query into terms. NFKC folds full-width letters and
    half-width katakana; katakana become hiragana because kana are stored in
    hiragana, so 「サッポロ」 finds 「さっぽろ」."""
    value = unicodedata.normalize("NFKC", value or "")
    return [term for term in value.split() if term]


def to_hiragana(term: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in term)


def _text_condition(term: str, fields: list[str], kana_fields: list[str]) -> Q:
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__icontains": term})
    hiragana = to_hiragana(term)
    for field in kana_fields:
        condition |= Q(**{f"{field}__icontains": hiragana})
    return condition


def municipality_choices(empty_label):
    """The 179 municipalities grouped under their 振興局 (one query), so a
    long select stays usable by keyboard and screen reader. Validation still
    runs against the field's queryset: these only replace the widget's options."""
    groups: dict[str, list] = {}
    for municipality in Municipality.objects.select_related("region").order_by(
        "region__order", "code"
    ):
        # The value carries the row, so a SearchableSelect can offer its reading.
        value = ModelChoiceIteratorValue(municipality.pk, municipality)
        groups.setdefault(municipality.region.name, []).append((value, municipality.name))
    return [("", empty_label), *groups.items()]


def _member_count():
    # A correlated subquery rather than Count() over a join: it cannot be
    # inflated by the joins other filters add (programs), and it is only
    # evaluated for the rows of the page.
    counts = (
        Membership.objects.filter(organisation=OuterRef("pk"), user__is_active=True)
        .order_by()
        .values("organisation")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


class OrganisationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("キーワード"),
        method="filter_text",
        max_length=QUERY_MAX_LENGTH,
        help_text=_("名称・かな・市町村名"),
    )
    region = site_filters.ModelChoiceFilter(
        label=_("振興局"), queryset=Region.objects.all(), empty_label=_("すべて")
    )
    municipality = site_filters.ModelChoiceFilter(
        label=_("市町村"),
        queryset=Municipality.objects.order_by("code"),
        empty_label=_("すべて"),
    )
    kind = django_filters.ChoiceFilter(
        label=_("種別"), choices=Organisation.Kind.choices, empty_label=_("すべて")
    )
    program = site_filters.ModelChoiceFilter(
        label=_("実施事業"),
        field_name="programs",
        queryset=Program.objects.all(),
        empty_label=_("すべて"),
    )

    class Meta:
        model = Organisation
        fields = ["q", "region", "municipality", "kind", "program"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.form.fields["municipality"].widget = site_forms.SearchableSelect(
            choices=municipality_choices(_("すべて")),
            search_label=MUNICIPALITY_SEARCH,
        )

    def filter_text(self, queryset, name, value):
        for term in normalise_query(value):
            queryset = queryset.filter(
                _text_condition(term, ["name", "kana", "municipality__name"], ["kana"])
            )
        return queryset

    @property
    def qs(self):
        # Invalid input shows its error and an empty list rather than silently
        # ignoring the bad filter (django-filter's FilterView does the same).
        if self.is_bound and not self.is_valid():
            return self.queryset.none()
        # The program filter joins the M2M table; a single program cannot
        # duplicate rows, so no DISTINCT is needed.
        return (
            super()
            .qs.select_related("municipality", "region")
            .prefetch_related("programs")
            .annotate(member_count=_member_count())
            .order_by("kana", "name", "pk")
        )


class PeopleFilter(django_filters.FilterSet):
    """The secretariat's list of everyone known to the network."""

    ADMIN_CHOICES = (("yes", _("組織管理者")), ("no", _("組織管理者以外")))
    CONTACT_CHOICES = (("yes", _("未登録（連絡先のみ）")), ("no", _("登録済み")))

    q = django_filters.CharFilter(
        label=_("キーワード"),
        method="filter_text",
        max_length=QUERY_MAX_LENGTH,
        help_text=_("氏名・かな・メールアドレス"),
    )
    kind = django_filters.ChoiceFilter(
        label=_("所属組織の種別"),
        choices=Organisation.Kind.choices,
        empty_label=_("すべて"),
        method="filter_noop",
    )
    is_org_admin = django_filters.ChoiceFilter(
        label=_("組織管理者"), choices=ADMIN_CHOICES, empty_label=_("すべて"), method="filter_noop"
    )
    contact = django_filters.ChoiceFilter(
        label=_("アカウント"),
        choices=CONTACT_CHOICES,
        empty_label=_("すべて"),
        method="filter_contact",
    )

    class Meta:
        model = User
        fields = ["q", "kind", "is_org_admin", "contact"]

    def filter_text(self, queryset, name, value):
        for term in normalise_query(value):
            queryset = queryset.filter(
                _text_condition(term, ["full_name", "full_name_kana", "email"], ["full_name_kana"])
            )
        return queryset

    def filter_contact(self, queryset, name, value):
        unusable = Q(password__startswith=UNUSABLE_PASSWORD_PREFIX)
        return queryset.filter(unusable if value == "yes" else ~unusable)

    def filter_noop(self, queryset, name, value):
        # kind and is_org_admin describe one and the same membership; they are
        # applied together in filter_queryset.
        return queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        kind = self.form.cleaned_data.get("kind")
        admin = self.form.cleaned_data.get("is_org_admin")
        # EXISTS instead of joining memberships: a person with several
        # memberships must appear once, without DISTINCT over the whole table.
        if kind or admin == "yes":
            memberships = Membership.objects.filter(user=OuterRef("pk"))
            if kind:
                memberships = memberships.filter(organisation__kind=kind)
            if admin == "yes":
                memberships = memberships.filter(is_org_admin=True)
            queryset = queryset.filter(Exists(memberships))
        if admin == "no":
            queryset = queryset.exclude(
                Exists(Membership.objects.filter(user=OuterRef("pk"), is_org_admin=True))
            )
        return queryset

    @property
    def qs(self):
        if self.is_bound and not self.is_valid():
            return self.queryset.none()
        memberships = Membership.objects.select_related("organisation").order_by(
            "organisation__kana", "organisation__name"
        )
        return (
            super()
            .qs.prefetch_related(Prefetch("memberships", queryset=memberships))
            .order_by("full_name_kana", "email", "pk")
        )
