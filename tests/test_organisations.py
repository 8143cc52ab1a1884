"""The members' organisation list and profile pages, and the 和暦 filters."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from core.templatetags.wareki import jdate, wareki_date, wareki_fy, wareki_month
from network.filters import OrganisationFilter
from network.models import Commission, Municipality, Organisation, Program, Region

from .factories import MembershipFactory, OrganisationFactory, UserFactory, municipality, program

LIST_URL = reverse("network:organisation_list")


def detail_url(org):
    return reverse("network:organisation_detail", args=[org.pk])


def names_in(response):
    return [org.name for org in response.context["page_obj"]]


def build_organisations(n, **kwargs):
    """n organisations with the related rows that would cause N+1 queries if
    the list did not prefetch: programs, a municipality, memberships."""
    programs = list(Program.objects.all()[:2])
    orgs = OrganisationFactory.create_batch(n, **kwargs)
    for org in orgs:
        org.programs.set(programs)
        MembershipFactory(organisation=org)
    return orgs


# --- 和暦 template filters ------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (2021, "令和3年度"),
        (2019, "令和元年度"),
        (2020, "令和2年度"),
        (2018, "平成30年度"),
        (1989, "平成元年度"),
        (1988, "昭和63年度"),
        ("2022", "令和4年度"),
    ],
)
def test_wareki_fy_formats_fiscal_years(year, expected):
    assert wareki_fy(year) == expected


def test_wareki_fy_leaves_non_years_alone():
    assert wareki_fy(None) == ""
    assert wareki_fy("abc") == "abc"


def test_jdate_formats_dates_with_weekday():
    assert jdate(datetime.date(2021, 6, 4)) == "2021年6月4日(金)"
    assert jdate(datetime.date(2024, 1, 7)) == "2024年1月7日(日)"


def test_jdate_uses_local_time_for_aware_datetimes():
    # 2021-06-04 16:00 UTC is already 5 June in Tokyo.
    moment = datetime.datetime(2021, 6, 4, 16, 0, tzinfo=datetime.UTC)
    assert jdate(moment) == "2021年6月5日(土)"


def test_jdate_of_nothing_is_empty():
    assert jdate(None) == ""
    assert jdate("2021-06-04") == ""


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (datetime.date(2021, 6, 4), "令和3年6月4日"),
        (datetime.date(2019, 5, 1), "令和元年5月1日"),
        (datetime.date(2019, 4, 30), "平成31年4月30日"),
        (datetime.date(1989, 1, 8), "平成元年1月8日"),
        (datetime.date(1989, 1, 7), "昭和64年1月7日"),
        # 2019-04-30 16:00 UTC is already 1 May, the first day of 令和, in Tokyo.
        (datetime.datetime(2019, 4, 30, 16, 0, tzinfo=datetime.UTC), "令和元年5月1日"),
        (None, ""),
        ("2021-06-04", ""),
    ],
)
def test_wareki_date_writes_the_era_of_the_day(day, expected):
    assert wareki_date(day) == expected


def test_wareki_month_writes_the_era_and_month():
    assert wareki_month(datetime.date(2016, 6, 24)) == "平成28年6月"
    assert wareki_month(datetime.date(2019, 9, 20)) == "令和元年9月"
    assert wareki_month(None) == ""


# --- access ---------------------------------------------------------------------


def test_organisation_list_anonymous_redirects_to_login(client):
    response = client.get(LIST_URL)
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_organisation_list_outsider_gets_404(client_for, outsider):
    assert client_for(outsider).get(LIST_URL).status_code == 404


def test_organisation_list_municipal_member_sees_list(client_for, municipal_member, other_org):
    response = client_for(municipal_member).get(LIST_URL)
    assert response.status_code == 200
    assert other_org.name in response.content.decode()
    assert "札幌市保健福祉局" in names_in(response)


def test_organisation_list_committee_sees_list(client_for, committee_member, other_org):
    response = client_for(committee_member).get(LIST_URL)
    assert names_in(response) == [other_org.name]


def test_organisation_list_hides_inactive_from_members(client_for, contractor_member, other_org):
    other_org.is_active = False
    other_org.save()
    response = client_for(contractor_member).get(LIST_URL)
    assert other_org.name not in names_in(response)


def test_organisation_list_secretariat_sees_inactive(client_for, secretariat, other_org):
    other_org.is_active = False
    other_org.save()
    response = client_for(secretariat).get(LIST_URL)
    assert other_org.name in names_in(response)
    assert "無効" in response.content.decode()


def test_organisation_detail_inactive_is_404_for_members(client_for, contractor_member, other_org):
    other_org.is_active = False
    other_org.save()
    assert client_for(contractor_member).get(detail_url(other_org)).status_code == 404


def test_organisation_detail_inactive_visible_to_secretariat(client_for, secretariat, other_org):
    other_org.is_active = False
    other_org.save()
    assert client_for(secretariat).get(detail_url(other_org)).status_code == 200


def test_organisation_detail_outsider_gets_404(client_for, outsider, other_org):
    assert client_for(outsider).get(detail_url(other_org)).status_code == 404


def test_organisation_detail_unknown_pk_is_404(client_for, contractor_member):
    url = reverse("network:organisation_detail", args=[999999])
    assert client_for(contractor_member).get(url).status_code == 404


# --- list content and filters ----------------------------------------------------


def test_organisation_list_rows_show_profile_and_member_count(client_for, contractor_member):
    org = OrganisationFactory(
        name="旭川くらしサポート",
        kana="あさひかわくらしさぽーと",
        municipality=municipality("012041"),
        is_sample=True,
    )
    org.programs.add(program("jiritsu_sodan"))
    MembershipFactory.create_batch(3, organisation=org)
    response = client_for(contractor_member).get(LIST_URL, {"q": "旭川くらし"})
    html = response.content.decode()
    assert names_in(response) == ["旭川くらしサポート"]
    row = response.context["page_obj"][0]
    assert row.member_count == 3
    assert "あさひかわくらしさぽーと" in html
    assert "旭川市" in html
    assert "上川総合振興局" in html
    assert program("jiritsu_sodan").common_name in html
    assert 'class="badge sample"' in html
    assert 'class="badge kind-contractor"' in html
    assert f'href="{detail_url(org)}"' in html


def test_organisation_list_member_count_not_inflated_by_program_filter(
    client_for, contractor_member
):
    org = OrganisationFactory(name="二事業センター")
    org.programs.set(Program.objects.all()[:2])
    MembershipFactory.create_batch(2, organisation=org)
    response = client_for(contractor_member).get(LIST_URL, {"program": Program.objects.first().pk})
    assert [o.member_count for o in response.context["page_obj"] if o.pk == org.pk] == [2]


def test_organisation_list_is_ordered_by_kana(client_for, contractor_member):
    OrganisationFactory(name="乙", kana="おつ")
    OrganisationFactory(name="甲", kana="あい")
    response = client_for(contractor_member).get(LIST_URL, {"kind": "contractor"})
    names = names_in(response)
    assert names.index("甲") < names.index("乙")


def test_organisation_list_filter_region_narrows(client_for, contractor_member):
    kamikawa = OrganisationFactory(name="上川の団体", municipality=municipality("012041"))
    response = client_for(contractor_member).get(
        LIST_URL, {"region": Region.objects.get(name="上川総合振興局").pk}
    )
    assert names_in(response) == [kamikawa.name]


def test_organisation_list_filter_municipality_narrows(client_for, contractor_member):
    asahikawa = OrganisationFactory(name="旭川の団体", municipality=municipality("012041"))
    response = client_for(contractor_member).get(
        LIST_URL, {"municipality": Municipality.objects.get(code="012041").pk}
    )
    assert names_in(response) == [asahikawa.name]


def test_organisation_list_filter_kind_narrows(client_for, contractor_member, municipal_org):
    response = client_for(contractor_member).get(LIST_URL, {"kind": "municipality"})
    assert names_in(response) == [municipal_org.name]


def test_organisation_list_filter_program_narrows(client_for, contractor_member):
    kakei = OrganisationFactory(name="家計の団体")
    kakei.programs.add(program("kakei_kaizen"))
    response = client_for(contractor_member).get(LIST_URL, {"program": program("kakei_kaizen").pk})
    assert names_in(response) == [kakei.name]


def test_organisation_list_filter_q_matches_kana(client_for, contractor_member, municipal_org):
    response = client_for(contractor_member).get(LIST_URL, {"q": "さっぽろ"})
    assert names_in(response) == [municipal_org.name]


def test_organisation_list_filter_q_katakana_matches_hiragana_kana(
    client_for, contractor_member, municipal_org
):
    response = client_for(contractor_member).get(LIST_URL, {"q": "サッポロ"})
    assert names_in(response) == [municipal_org.name]


def test_organisation_list_filter_q_matches_municipality_name(client_for, contractor_member):
    org = OrganisationFactory(name="まちの相談室", municipality=municipality("012041"))
    response = client_for(contractor_member).get(LIST_URL, {"q": "旭川市"})
    assert names_in(response) == [org.name]


def test_organisation_list_filters_combine(client_for, contractor_member):
    OrganisationFactory(
        name="旭川の自治体", kind="municipality", municipality=municipality("012041")
    )
    target = OrganisationFactory(name="旭川の受託", municipality=municipality("012041"))
    response = client_for(contractor_member).get(
        LIST_URL,
        {"municipality": municipality("012041").pk, "kind": "contractor"},
    )
    assert names_in(response) == [target.name]


def test_organisation_list_empty_state_when_nothing_matches(client_for, contractor_member):
    response = client_for(contractor_member).get(LIST_URL, {"q": "存在しない名前"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "条件に合う組織はありません。" in html
    assert "<table" not in html


@pytest.mark.parametrize(
    "params",
    [
        {"municipality": "abc"},
        {"region": "99999"},
        {"program": "-1"},
        {"kind": "nonsense"},
        {"q": "あ" * 500},
        {"region": "1 OR 1=1"},
        {"municipality": "\x00"},
    ],
)
def test_organisation_list_garbage_filter_is_form_error(client_for, contractor_member, params):
    response = client_for(contractor_member).get(LIST_URL, params)
    assert response.status_code == 200
    assert response.context["filter"].errors
    assert "検索条件に誤りがあります" in response.content.decode()
    assert list(response.context["page_obj"]) == []


def test_organisation_filter_unknown_parameters_are_ignored(contractor_member, rf):
    request = rf.get(LIST_URL, {"colour": "blue"})
    request.user = contractor_member
    filterset = OrganisationFilter(request.GET, queryset=Organisation.objects.all())
    assert filterset.is_valid()


# --- pagination -----------------------------------------------------------------


def test_organisation_list_paginates_51_into_two_pages(client_for, secretariat):
    OrganisationFactory.create_batch(51)
    client = client_for(secretariat)
    first = client.get(LIST_URL)
    second = client.get(LIST_URL, {"page": 2})
    assert len(first.context["page_obj"]) == 50
    assert len(second.context["page_obj"]) == 1
    assert first.context["page_obj"].paginator.num_pages == 2
    assert set(names_in(first)).isdisjoint(names_in(second))
    assert 'rel="next"' in first.content.decode()


def test_organisation_list_pagination_keeps_filters(client_for, secretariat):
    OrganisationFactory.create_batch(51, kind="support")
    response = client_for(secretariat).get(LIST_URL, {"kind": "support"})
    assert "?kind=support&amp;page=2" in response.content.decode()


@pytest.mark.parametrize("page", ["-1", "0", "abc", "99999", "1.5", ""])
def test_organisation_list_bad_page_number_does_not_fail(client_for, contractor_member, page):
    response = client_for(contractor_member).get(LIST_URL, {"page": page})
    assert response.status_code == 200
    assert response.context["page_obj"].number >= 1


# --- detail ---------------------------------------------------------------------


def test_organisation_detail_shows_profile_commissions_and_staff(
    client_for, contractor_member, contractor_org, municipal_org
):
    contractor_org.phone = "011-000-0000"
    contractor_org.description = "札幌で相談支援をしています。"
    contractor_org.save()
    contractor_org.programs.add(program("jiritsu_sodan"))
    Commission.objects.create(
        contractor=contractor_org,
        commissioner=municipal_org,
        program=program("jiritsu_sodan"),
        fiscal_year=2021,
    )
    response = client_for(contractor_member).get(detail_url(contractor_org))
    html = response.content.decode()
    assert response.status_code == 200
    assert "011-000-0000" in html
    assert "札幌で相談支援をしています。" in html
    assert "令和3年度" in html
    assert municipal_org.name in html
    assert "受託 花子" in html
    assert "相談支援員" in html


def test_organisation_detail_commission_given_listed_on_commissioner(
    client_for, municipal_member, contractor_org, municipal_org
):
    Commission.objects.create(
        contractor=contractor_org,
        commissioner=municipal_org,
        program=program("jiritsu_sodan"),
        fiscal_year=2019,
    )
    html = client_for(municipal_member).get(detail_url(municipal_org)).content.decode()
    assert "委託先" in html
    assert contractor_org.name in html
    assert "令和元年度" in html


def test_organisation_detail_hides_staff_emails_from_plain_members(
    client_for, contractor_member, org_admin, contractor_org
):
    html = client_for(contractor_member).get(detail_url(contractor_org)).content.decode()
    assert "npo-admin@example.org" not in html
    assert "npo@example.org" not in html


def test_organisation_detail_shows_staff_emails_to_org_admin(
    client_for, contractor_member, org_admin, contractor_org
):
    html = client_for(org_admin).get(detail_url(contractor_org)).content.decode()
    assert "npo@example.org" in html


def test_organisation_detail_manage_buttons_only_for_managers(
    client_for, contractor_member, org_admin, secretariat, contractor_org, other_org
):
    edit = reverse("network:organisation_edit", args=[contractor_org.pk])
    staff = reverse("network:staff_list", args=[contractor_org.pk])
    as_member = client_for(contractor_member).get(detail_url(contractor_org)).content.decode()
    assert edit not in as_member and staff not in as_member
    as_admin = client_for(org_admin).get(detail_url(contractor_org)).content.decode()
    assert edit in as_admin and staff in as_admin
    as_admin_elsewhere = client_for(org_admin).get(detail_url(other_org)).content.decode()
    assert reverse("network:organisation_edit", args=[other_org.pk]) not in as_admin_elsewhere
    as_secretariat = client_for(secretariat).get(detail_url(other_org)).content.decode()
    assert reverse("network:organisation_edit", args=[other_org.pk]) in as_secretariat


# --- query counts -----------------------------------------------------------------


def assert_flat_query_count(django_assert_num_queries, client, url, add_rows, expected, count):
    """The page costs `expected` queries with 1 row and with 50 rows.
    `add_rows(n)` adds n rows; `count(response)` tells how many are shown."""
    add_rows(1)
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert response.status_code == 200
    assert count(response) == 1
    add_rows(49)
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert count(response) == 50


def test_organisation_list_query_count_is_flat(
    django_assert_num_queries, client_for, contractor_member
):
    # session, user, groups, memberships (roles); region, municipality and
    # program choices of the filter form; count; page; programs prefetch.
    assert_flat_query_count(
        django_assert_num_queries,
        client_for(contractor_member),
        f"{LIST_URL}?kind=support",
        lambda n: build_organisations(n, kind="support"),
        10,
        lambda response: len(response.context["page_obj"]),
    )


def test_organisation_detail_query_count_is_flat(
    django_assert_num_queries, client_for, org_admin, contractor_org, municipal_org
):
    contractor_org.programs.set(Program.objects.all())

    def add_rows(n):
        for _ in range(n):
            MembershipFactory(organisation=contractor_org)
            commissioner = OrganisationFactory(kind="municipality")
            Commission.objects.create(
                contractor=contractor_org,
                commissioner=commissioner,
                program=program("jiritsu_sodan"),
                fiscal_year=2021,
            )

    # session, user, groups, memberships (roles); organisation; programs;
    # commissions received; commissions given; staff; the surveys answered for
    # the organisation (shown to its org admins).
    # The org admin's own membership is one staff row already.
    assert_flat_query_count(
        django_assert_num_queries,
        client_for(org_admin),
        detail_url(contractor_org),
        add_rows,
        10,
        lambda response: len(response.context["commissions_received"]),
    )
    staff = list(client_for(org_admin).get(detail_url(contractor_org)).context["staff"])
    assert len(staff) == 51


def test_organisation_detail_staff_list_is_scoped_to_active_users(
    client_for, contractor_member, contractor_org
):
    gone = UserFactory(full_name="退職 済子", is_active=False)
    MembershipFactory(user=gone, organisation=contractor_org)
    html = client_for(contractor_member).get(detail_url(contractor_org)).content.decode()
    assert "退職 済子" not in html


def test_organisation_detail_inactive_commissioner_is_not_linked_for_members(
    client_for, contractor_member, contractor_org
):
    closed = OrganisationFactory(name="閉じた自治体", kind="municipality", is_active=False)
    Commission.objects.create(
        contractor=contractor_org,
        commissioner=closed,
        program=program("jiritsu_sodan"),
        fiscal_year=timezone.now().year,
    )
    html = client_for(contractor_member).get(detail_url(contractor_org)).content.decode()
    assert "閉じた自治体" in html
    assert f'href="{detail_url(closed)}"' not in html
