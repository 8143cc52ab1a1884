"""Org admins managing their organisation; the secretariat managing the network."""

import pytest
from django.urls import reverse
from django.utils import timezone

from network.models import Invitation, JoinRequest, Membership, Organisation, Program, User

from .factories import MembershipFactory, OrganisationFactory, UserFactory, municipality, program
from .queries import assert_flat_query_count


def edit_url(org):
    return reverse("network:organisation_edit", args=[org.pk])


def staff_url(org):
    return reverse("network:staff_list", args=[org.pk])


def membership_edit_url(membership):
    return reverse("network:membership_edit", args=[membership.organisation_id, membership.pk])


def membership_remove_url(membership):
    return reverse("network:membership_remove", args=[membership.organisation_id, membership.pk])


def profile_data(org, **changes):
    data = {
        "name": org.name,
        "kana": org.kana,
        "municipality": org.municipality_id or "",
        "programs": [p.pk for p in org.programs.all()],
        "email": org.email,
        "phone": org.phone,
        "website": org.website,
        "address": org.address,
        "description": org.description,
    }
    data.update(changes)
    return data


def invite(membership, **kwargs):
    _token, token_hash = Invitation.new_token()
    return Invitation.objects.create(
        membership=membership,
        token_hash=token_hash,
        expires_at=kwargs.pop("expires_at", Invitation.default_expiry()),
        **kwargs,
    )


def membership_of(user, org):
    return Membership.objects.get(user=user, organisation=org)


# --- organisation_edit ------------------------------------------------------------


def test_organisation_edit_org_admin_saves_own_profile(client_for, org_admin, contractor_org):
    data = profile_data(
        contractor_org,
        name="札幌生活サポートセンター（新）",
        municipality=municipality("012041").pk,
        programs=[program("kakei_kaizen").pk],
        website="example.org",
    )
    response = client_for(org_admin).post(edit_url(contractor_org), data)
    assert response.status_code == 302
    assert response["Location"] == contractor_org.get_absolute_url()
    contractor_org.refresh_from_db()
    assert contractor_org.name == "札幌生活サポートセンター（新）"
    # The region follows the municipality, without being asked.
    assert contractor_org.region.name == "上川総合振興局"
    assert list(contractor_org.programs.all()) == [program("kakei_kaizen")]
    assert contractor_org.website == "https://example.org"


def test_organisation_edit_org_admin_cannot_change_kind_or_flags(
    client_for, org_admin, contractor_org
):
    form = client_for(org_admin).get(edit_url(contractor_org)).context["form"]
    assert "kind" not in form.fields and "is_active" not in form.fields
    data = profile_data(contractor_org, kind="government", is_active="", is_sample="on")
    client_for(org_admin).post(edit_url(contractor_org), data)
    contractor_org.refresh_from_db()
    assert contractor_org.kind == Organisation.Kind.CONTRACTOR
    assert contractor_org.is_active and not contractor_org.is_sample


def test_organisation_edit_org_admin_gets_404_for_other_org(client_for, org_admin, other_org):
    client = client_for(org_admin)
    assert client.get(edit_url(other_org)).status_code == 404
    assert (
        client.post(edit_url(other_org), profile_data(other_org, name="乗っ取り")).status_code
        == 404
    )
    assert client.get(staff_url(other_org)).status_code == 404
    other_org.refresh_from_db()
    assert other_org.name == "函館くらし相談室"


def test_organisation_edit_plain_member_gets_404(client_for, contractor_member, contractor_org):
    assert client_for(contractor_member).get(edit_url(contractor_org)).status_code == 404
    assert client_for(contractor_member).get(staff_url(contractor_org)).status_code == 404


def test_organisation_edit_outsider_and_committee_get_404(
    client_for, outsider, committee_member, contractor_org
):
    assert client_for(outsider).get(edit_url(contractor_org)).status_code == 404
    assert client_for(committee_member).get(edit_url(contractor_org)).status_code == 404


def test_organisation_edit_anonymous_redirects_to_login(client, contractor_org):
    response = client.get(edit_url(contractor_org))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_organisation_edit_inactive_org_is_404_for_its_admin(client_for, org_admin, contractor_org):
    contractor_org.is_active = False
    contractor_org.save()
    assert client_for(org_admin).get(edit_url(contractor_org)).status_code == 404


def test_organisation_edit_secretariat_edits_any_with_kind_and_flags(
    client_for, secretariat, other_org
):
    data = profile_data(other_org, kind="support", is_sample="on", is_active="")
    response = client_for(secretariat).post(edit_url(other_org), data)
    assert response.status_code == 302
    other_org.refresh_from_db()
    assert other_org.kind == "support"
    assert other_org.is_sample and not other_org.is_active


def test_organisation_edit_secretariat_sets_region_for_shinkokyoku_unit(
    client_for, secretariat, other_org
):
    kamikawa = municipality("012041").region
    data = profile_data(other_org, kind="municipality", municipality="", region=kamikawa.pk)
    data["is_active"] = "on"
    client_for(secretariat).post(edit_url(other_org), data)
    other_org.refresh_from_db()
    assert other_org.municipality is None
    assert other_org.region == kamikawa


@pytest.mark.parametrize(
    "changes",
    [
        {"municipality": "abc"},
        {"municipality": "999999"},
        {"programs": ["x"]},
        {"programs": ["999999"]},
        {"email": "not an address"},
        {"website": "javascript:alert(1)"},
        {"name": ""},
        {"name": "名" * 500},
    ],
)
def test_organisation_edit_garbage_is_form_error(client_for, org_admin, contractor_org, changes):
    response = client_for(org_admin).post(
        edit_url(contractor_org), profile_data(contractor_org, **changes)
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert "入力内容を確認してください。" in response.content.decode()
    contractor_org.refresh_from_db()
    assert contractor_org.name == "札幌生活サポートセンター"


# --- staff_list -------------------------------------------------------------------


def test_staff_list_shows_staff_contacts_and_pending_invitations(
    client_for, org_admin, contractor_member, contractor_org
):
    contact = User.objects.create_contact("contact@example.org", full_name="連絡 先子")
    invited = MembershipFactory(organisation=contractor_org, user=contact)
    pending = invite(invited, invited_by=org_admin)
    accepted = invite(MembershipFactory(organisation=contractor_org), accepted_at=timezone.now())
    response = client_for(org_admin).get(staff_url(contractor_org))
    html = response.content.decode()
    assert response.status_code == 200
    assert "受託 花子" in html and "npo@example.org" in html
    assert "未登録（連絡先のみ）" in html
    assert list(response.context["invitations"]) == [pending]
    assert accepted not in response.context["invitations"]
    resend = reverse("network:invitation_resend", args=[contractor_org.pk, pending.pk])
    revoke = reverse("network:invitation_revoke", args=[contractor_org.pk, pending.pk])
    assert f'action="{resend}"' in html
    assert f'href="{revoke}"' in html
    assert reverse("network:staff_invite", args=[contractor_org.pk]) in html
    assert membership_edit_url(membership_of(contractor_member, contractor_org)) in html


def test_staff_list_registered_user_has_no_contact_badge(client_for, org_admin, contractor_org):
    html = client_for(org_admin).get(staff_url(contractor_org)).content.decode()
    assert "未登録（連絡先のみ）" not in html
    assert "受諾待ちの招待はありません。" in html


def test_staff_list_secretariat_sees_any(client_for, secretariat, other_org):
    MembershipFactory(organisation=other_org, user__full_name="函館 職員")
    html = client_for(secretariat).get(staff_url(other_org)).content.decode()
    assert "函館 職員" in html


def test_staff_list_query_count_is_flat(
    django_assert_num_queries, client_for, org_admin, contractor_org
):
    staff_org = OrganisationFactory()
    admin_membership = MembershipFactory(organisation=staff_org, user=org_admin, is_org_admin=True)

    def add_rows(n):
        for _ in range(n):
            invite(MembershipFactory(organisation=staff_org), invited_by=org_admin)

    # session, user, groups, memberships (roles); organisation; count; page of
    # memberships; invitations.
    assert_flat_query_count(
        django_assert_num_queries,
        client_for(org_admin),
        staff_url(staff_org),
        add_rows,
        8,
        lambda response: len(response.context["invitations"]),
    )
    page_obj = client_for(org_admin).get(staff_url(staff_org)).context["page_obj"]
    # Admins first (staff_order), and every membership counted.
    assert (page_obj[0], page_obj.paginator.count) == (admin_membership, 51)


@pytest.mark.parametrize(("page", "number"), [("-1", 2), ("abc", 1), ("99999", 2)])
def test_staff_list_bad_page_number_does_not_fail(
    client_for, org_admin, contractor_org, page, number
):
    MembershipFactory.create_batch(50, organisation=contractor_org)
    response = client_for(org_admin).get(staff_url(contractor_org), {"page": page})
    # A bad number shows a real page: the first when it is no number, else the last.
    assert response.status_code == 200
    page_obj = response.context["page_obj"]
    assert (page_obj.number, page_obj.paginator.count) == (number, 51)
    assert len(page_obj) == (50 if number == 1 else 1)


# --- membership_edit --------------------------------------------------------------


def test_membership_edit_org_admin_changes_role(
    client_for, org_admin, contractor_member, contractor_org
):
    membership = membership_of(contractor_member, contractor_org)
    response = client_for(org_admin).post(
        membership_edit_url(membership),
        {"staff_role": "shunin_sodan", "experience": "5to10", "is_org_admin": "on"},
    )
    assert response.status_code == 302
    assert response["Location"] == staff_url(contractor_org)
    membership.refresh_from_db()
    assert membership.staff_role == "shunin_sodan"
    assert membership.experience == "5to10"
    assert membership.is_org_admin


def test_membership_edit_refuses_demoting_last_admin(client_for, org_admin, contractor_org):
    membership = membership_of(org_admin, contractor_org)
    response = client_for(org_admin).post(
        membership_edit_url(membership), {"staff_role": "sodan", "experience": ""}
    )
    assert response.status_code == 200
    assert "唯一の組織管理者" in response.content.decode()
    membership.refresh_from_db()
    assert membership.is_org_admin


def test_membership_edit_secretariat_may_demote_last_admin(
    client_for, secretariat, org_admin, contractor_org
):
    membership = membership_of(org_admin, contractor_org)
    response = client_for(secretariat).post(
        membership_edit_url(membership), {"staff_role": "sodan", "experience": ""}
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert not membership.is_org_admin


def test_membership_edit_admin_may_step_down_when_another_admin_exists(
    client_for, org_admin, contractor_member, contractor_org
):
    Membership.objects.filter(user=contractor_member).update(is_org_admin=True)
    own = membership_of(org_admin, contractor_org)
    client = client_for(org_admin)
    response = client.post(membership_edit_url(own), {"staff_role": "sodan", "experience": ""})
    # No longer an admin: sent to the profile page, not the staff page.
    assert response.status_code == 302
    assert response["Location"] == contractor_org.get_absolute_url()
    own.refresh_from_db()
    assert not own.is_org_admin
    assert client.get(staff_url(contractor_org)).status_code == 404


@pytest.mark.parametrize(
    "data",
    [
        {"staff_role": "wizard", "experience": ""},
        {"staff_role": "", "experience": ""},
        {"staff_role": "sodan", "experience": "forever"},
        {},
    ],
)
def test_membership_edit_garbage_is_form_error(
    client_for, org_admin, contractor_member, contractor_org, data
):
    membership = membership_of(contractor_member, contractor_org)
    response = client_for(org_admin).post(membership_edit_url(membership), data)
    assert response.status_code == 200
    assert response.context["form"].errors
    membership.refresh_from_db()
    assert membership.staff_role == "sodan"


def test_membership_edit_membership_of_other_org_is_404(
    client_for, org_admin, contractor_org, other_org
):
    foreign = MembershipFactory(organisation=other_org)
    # The admin's own organisation in the URL must not unlock another's membership.
    url = reverse("network:membership_edit", args=[contractor_org.pk, foreign.pk])
    assert client_for(org_admin).get(url).status_code == 404
    assert client_for(org_admin).get(membership_edit_url(foreign)).status_code == 404


def test_membership_edit_plain_member_gets_404(client_for, contractor_member, contractor_org):
    membership = membership_of(contractor_member, contractor_org)
    assert client_for(contractor_member).get(membership_edit_url(membership)).status_code == 404


# --- membership_remove ------------------------------------------------------------


def test_membership_remove_get_shows_confirmation_and_keeps_row(
    client_for, org_admin, contractor_member, contractor_org
):
    membership = membership_of(contractor_member, contractor_org)
    response = client_for(org_admin).get(membership_remove_url(membership))
    html = response.content.decode()
    assert response.status_code == 200
    assert "confirm-box" in html
    assert "よろしいですか" in html
    assert 'method="post"' in html
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_membership_remove_post_deletes(client_for, org_admin, contractor_member, contractor_org):
    membership = membership_of(contractor_member, contractor_org)
    response = client_for(org_admin).post(membership_remove_url(membership))
    assert response.status_code == 302
    assert response["Location"] == staff_url(contractor_org)
    assert not Membership.objects.filter(pk=membership.pk).exists()
    # The person stays: only the membership goes.
    assert User.objects.filter(pk=contractor_member.pk).exists()


def test_membership_remove_refuses_last_admin_removing_self(client_for, org_admin, contractor_org):
    membership = membership_of(org_admin, contractor_org)
    client = client_for(org_admin)
    page = client.get(membership_remove_url(membership)).content.decode()
    assert "唯一の組織管理者" in page
    assert 'method="post"' not in page.split("confirm-box", 1)[1]
    response = client.post(membership_remove_url(membership))
    assert response.status_code == 200
    assert "唯一の組織管理者" in response.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_membership_remove_single_admin_may_remove_non_admins(
    client_for, org_admin, contractor_org
):
    colleague = MembershipFactory(organisation=contractor_org, is_org_admin=False)
    assert client_for(org_admin).post(membership_remove_url(colleague)).status_code == 302
    assert not Membership.objects.filter(pk=colleague.pk).exists()


def test_membership_remove_secretariat_may_remove_last_admin(
    client_for, secretariat, org_admin, contractor_org
):
    membership = membership_of(org_admin, contractor_org)
    response = client_for(secretariat).post(membership_remove_url(membership))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_membership_remove_self_when_another_admin_exists(
    client_for, org_admin, contractor_member, contractor_org
):
    Membership.objects.filter(user=contractor_member).update(is_org_admin=True)
    membership = membership_of(org_admin, contractor_org)
    response = client_for(org_admin).post(membership_remove_url(membership))
    assert response.status_code == 302
    assert response["Location"] == contractor_org.get_absolute_url()
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_membership_remove_other_org_is_404(client_for, org_admin, other_org):
    foreign = MembershipFactory(organisation=other_org)
    assert client_for(org_admin).post(membership_remove_url(foreign)).status_code == 404
    assert Membership.objects.filter(pk=foreign.pk).exists()


def test_membership_remove_plain_member_gets_404(
    client_for, contractor_member, org_admin, contractor_org
):
    membership = membership_of(org_admin, contractor_org)
    assert client_for(contractor_member).post(membership_remove_url(membership)).status_code == 404
    assert Membership.objects.filter(pk=membership.pk).exists()


# --- manage_home ------------------------------------------------------------------


def test_manage_home_shows_counts_and_links(client_for, secretariat, org_admin, municipal_org):
    User.objects.create_contact("someone@example.org", full_name="連絡 先子")
    JoinRequest.objects.create(
        organisation_name="新しい団体",
        kind="support",
        municipality=municipality(),
        contact_name="申請 者",
        contact_email="apply@example.org",
    )
    invite(org_admin.memberships.get())
    response = client_for(secretariat).get(reverse("network:manage_home"))
    html = response.content.decode()
    assert response.status_code == 200
    ctx = response.context
    assert ctx["pending_join_requests"] == 1
    assert ctx["pending_invitations"] == 1
    assert ctx["contact_count"] == 1
    assert ctx["member_count"] == 1
    assert dict((k, n) for k, _label, n in ctx["kinds"]) == {
        "municipality": 1,
        "contractor": 1,
        "support": 0,
        "government": 0,
        "other": 0,
    }
    assert reverse("network:join_request_list") in html
    assert reverse("network:organisation_create") in html
    assert reverse("network:people_list") in html


def test_manage_home_shows_import_links_to_staff(client_for, superuser):
    html = client_for(superuser).get(reverse("network:manage_home")).content.decode()
    assert "/admin/network/organisation/import/" in html
    assert "/admin/network/membership/import/" in html


@pytest.mark.parametrize("name", ["outsider", "contractor_member", "org_admin", "committee"])
def test_manage_pages_are_404_for_non_secretariat(client_for, actors, name):
    client = client_for(actors[name])
    for url_name in ("manage_home", "organisation_create", "people_list"):
        assert client.get(reverse(f"network:{url_name}")).status_code == 404


def test_manage_pages_anonymous_redirects_to_login(client):
    for url_name in ("manage_home", "organisation_create", "people_list"):
        response = client.get(reverse(f"network:{url_name}"))
        assert response.status_code == 302
        assert reverse("account_login") in response["Location"]


# --- organisation_create ----------------------------------------------------------


def test_organisation_create_secretariat_creates_and_goes_to_staff_page(client_for, secretariat):
    data = {
        "kind": "contractor",
        "name": "旭川ささえあいセンター",
        "kana": "あさひかわささえあいせんたー",
        "municipality": municipality("012041").pk,
        "programs": [program("jiritsu_sodan").pk, program("kakei_kaizen").pk],
        "email": "info@example.org",
        "is_active": "on",
    }
    response = client_for(secretariat).post(reverse("network:organisation_create"), data)
    org = Organisation.objects.get(name="旭川ささえあいセンター")
    assert response.status_code == 302
    assert response["Location"] == staff_url(org)
    assert org.region.name == "上川総合振興局"
    assert org.is_active and not org.is_sample
    assert set(org.programs.values_list("key", flat=True)) == {"jiritsu_sodan", "kakei_kaizen"}


def test_organisation_create_form_offers_all_fields(client_for, secretariat):
    form = client_for(secretariat).get(reverse("network:organisation_create")).context["form"]
    assert set(form.fields) == {
        "kind",
        "name",
        "kana",
        "municipality",
        "region",
        "programs",
        "email",
        "phone",
        "website",
        "address",
        "description",
        "is_active",
        "is_sample",
    }


def test_organisation_create_duplicate_name_in_municipality_is_form_error(
    client_for, secretariat, contractor_org
):
    data = {
        "kind": "contractor",
        "name": contractor_org.name,
        "municipality": contractor_org.municipality_id,
        "is_active": "on",
    }
    response = client_for(secretariat).post(reverse("network:organisation_create"), data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert Organisation.objects.filter(name=contractor_org.name).count() == 1


def test_organisation_create_municipal_kind_needs_an_area(client_for, secretariat):
    data = {"kind": "municipality", "name": "どこかの町", "is_active": "on"}
    response = client_for(secretariat).post(reverse("network:organisation_create"), data)
    assert response.status_code == 200
    assert "所在市町村または振興局" in response.content.decode()
    assert not Organisation.objects.filter(name="どこかの町").exists()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"kind": "pirate", "name": "x"},
        {"kind": "contractor", "name": "x", "region": "abc"},
        {"kind": "contractor", "name": "x", "programs": "\x00"},
        {"kind": "contractor", "name": "x", "is_active": "maybe", "municipality": "-5"},
    ],
)
def test_organisation_create_garbage_is_form_error(client_for, secretariat, data):
    count = Organisation.objects.count()
    response = client_for(secretariat).post(reverse("network:organisation_create"), data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert Organisation.objects.count() == count


# --- people_list ------------------------------------------------------------------

PEOPLE_URL = reverse("network:people_list")


def people_in(response):
    return [person.email for person in response.context["page_obj"]]


def test_people_list_shows_everyone_with_memberships(
    client_for, secretariat, org_admin, contractor_member, municipal_member, outsider
):
    response = client_for(secretariat).get(PEOPLE_URL)
    shown = {
        person.email: [m.organisation.name for m in person.memberships.all()]
        for person in response.context["page_obj"]
    }
    assert shown == {
        "npo-admin@example.org": ["札幌生活サポートセンター"],
        "npo@example.org": ["札幌生活サポートセンター"],
        "city@example.org": ["札幌市保健福祉局"],
        "outsider@example.org": [],
        "secretariat@example.org": [],
    }
    html = response.content.decode()
    assert html.count("札幌生活サポートセンター") == 2
    assert html.count("所属なし") == 2


def test_people_list_filter_q_matches_kana_and_email(client_for, secretariat):
    UserFactory(
        full_name="北海 道子", full_name_kana="ほっかい みちこ", email="michiko@example.org"
    )
    client = client_for(secretariat)
    assert people_in(client.get(PEOPLE_URL, {"q": "ミチコ"})) == ["michiko@example.org"]
    assert people_in(client.get(PEOPLE_URL, {"q": "michiko@"})) == ["michiko@example.org"]
    assert people_in(client.get(PEOPLE_URL, {"q": "北海"})) == ["michiko@example.org"]


def test_people_list_filter_kind_narrows(
    client_for, secretariat, contractor_member, municipal_member
):
    response = client_for(secretariat).get(PEOPLE_URL, {"kind": "municipality"})
    assert people_in(response) == ["city@example.org"]


def test_people_list_filter_org_admin_narrows(
    client_for, secretariat, org_admin, contractor_member
):
    client = client_for(secretariat)
    assert people_in(client.get(PEOPLE_URL, {"is_org_admin": "yes"})) == ["npo-admin@example.org"]
    not_admins = people_in(client.get(PEOPLE_URL, {"is_org_admin": "no"}))
    assert sorted(not_admins) == ["npo@example.org", "secretariat@example.org"]


def test_people_list_filter_kind_and_admin_apply_to_same_membership(
    client_for, secretariat, org_admin, municipal_org
):
    # Admin of a 受託団体 and plain member of a 自治体: not a 自治体 admin.
    MembershipFactory(user=org_admin, organisation=municipal_org)
    response = client_for(secretariat).get(
        PEOPLE_URL, {"kind": "municipality", "is_org_admin": "yes"}
    )
    assert people_in(response) == []
    assert "条件に合う人はいません。" in response.content.decode()


def test_people_list_filter_contact_only(client_for, secretariat, contractor_member):
    User.objects.create_contact("contact@example.org", full_name="連絡 先子")
    client = client_for(secretariat)
    assert people_in(client.get(PEOPLE_URL, {"contact": "yes"})) == ["contact@example.org"]
    registered = people_in(client.get(PEOPLE_URL, {"contact": "no"}))
    assert sorted(registered) == ["npo@example.org", "secretariat@example.org"]


def test_people_list_person_with_two_memberships_appears_once(
    client_for, secretariat, contractor_member, municipal_org
):
    MembershipFactory(user=contractor_member, organisation=municipal_org, is_org_admin=True)
    response = client_for(secretariat).get(PEOPLE_URL, {"q": "npo@"})
    assert people_in(response) == ["npo@example.org"]


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "pirate"},
        {"is_org_admin": "maybe"},
        {"contact": "1"},
        {"q": "x" * 1000},
        {"page": "-1"},
    ],
)
def test_people_list_garbage_input_never_fails(client_for, secretariat, params):
    response = client_for(secretariat).get(PEOPLE_URL, params)
    assert response.status_code == 200
    if "page" in params:
        # A bad page number shows the first page of everyone.
        assert (response.context["page_obj"].number, people_in(response)) == (
            1,
            ["secretariat@example.org"],
        )
    else:
        assert response.context["filter"].errors
        assert "検索条件に誤りがあります" in response.content.decode()


def test_people_list_query_count_is_flat(django_assert_num_queries, client_for, secretariat):
    orgs = OrganisationFactory.create_batch(2)

    def add_rows(n):
        for _ in range(n):
            user = UserFactory(full_name_kana="ぞ")
            for org in orgs:
                MembershipFactory(user=user, organisation=org)

    # session, user, groups, memberships (roles); count; page; memberships
    # with their organisations.
    assert_flat_query_count(
        django_assert_num_queries,
        client_for(secretariat),
        f"{PEOPLE_URL}?q=ぞ",
        add_rows,
        7,
        lambda response: len(response.context["page_obj"]),
    )


def test_people_list_paginates(client_for, secretariat):
    UserFactory.create_batch(55)
    client = client_for(secretariat)
    assert len(client.get(PEOPLE_URL).context["page_obj"]) == 50
    assert client.get(PEOPLE_URL, {"page": 2}).context["page_obj"].number == 2


@pytest.mark.django_db
def test_programs_used_by_tests_exist():
    assert Program.objects.filter(key__in=["jiritsu_sodan", "kakei_kaizen"]).count() == 2
