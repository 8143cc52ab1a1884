"""The Django admin: every network model has a working changelist whose query
count is a literal and does not grow with the rows, and the custom user admin
works with e-mail login and contacts."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from network.models import (
    Commission,
    Invitation,
    JoinRequest,
    Membership,
    Organisation,
    User,
)
from tests.factories import (
    MembershipFactory,
    OrganisationFactory,
    UserFactory,
    municipality,
    program,
)


def make_commissions(n):
    city = OrganisationFactory(kind=Organisation.Kind.MUNICIPALITY, name="委託元市役所")
    for contractor in OrganisationFactory.create_batch(n):
        Commission.objects.create(
            contractor=contractor,
            commissioner=city,
            program=program("jiritsu_sodan"),
            fiscal_year=2024,
        )


def make_invitations(n):
    for membership in MembershipFactory.create_batch(n):
        _token, token_hash = Invitation.new_token()
        Invitation.objects.create(
            membership=membership,
            token_hash=token_hash,
            expires_at=timezone.now() + timedelta(days=7),
        )


def make_join_requests(n):
    for i in range(n):
        JoinRequest.objects.create(
            organisation_name=f"参加希望団体{i}",
            kind=Organisation.Kind.SUPPORT,
            municipality=municipality("012025"),
            contact_name=f"担当 {i}",
            contact_email=f"contact{i}@example.org",
        )


# Every admin page: session, user, and the site's role context processor
# (groups, memberships) = 4. Then per changelist: COUNT(*) and the page of rows
# with its related objects (list_select_related), plus one query per related
# list filter (e.g. the regions of "region"). Literals on purpose: changing one
# is a decision, and 1 row and 50 rows must cost the same.
@pytest.mark.django_db
@pytest.mark.parametrize("rows", [1, 50])
@pytest.mark.parametrize(
    ("model", "make", "queries"),
    [
        ("organisation", OrganisationFactory.create_batch, 7),
        ("membership", MembershipFactory.create_batch, 6),
    ],
)
def test_admin_changelist_query_count_is_flat(
    client_for, superuser, django_assert_num_queries, model, make, queries, rows
):
    make(rows)
    client = client_for(superuser)
    url = reverse(f"admin:network_{model}_changelist")

    with django_assert_num_queries(queries):
        response = client.get(url)

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == rows


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [1, 20])
@pytest.mark.parametrize(
    ("model", "make", "queries"),
    [
        ("commission", make_commissions, 8),
        ("invitation", make_invitations, 6),
        ("joinrequest", make_join_requests, 6),
        ("user", UserFactory.create_batch, 7),
    ],
)
def test_admin_other_changelists_query_count_is_flat(
    client_for, superuser, django_assert_num_queries, model, make, queries, rows
):
    make(rows)
    client = client_for(superuser)

    with django_assert_num_queries(queries):
        response = client.get(reverse(f"admin:network_{model}_changelist"))

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) >= rows


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "text", "queries"),
    [
        ("region", "石狩振興局", 7),
        ("municipality", "札幌市", 8),
        ("program", "自立相談支援事業", 7),
    ],
)
def test_admin_reference_data_changelists(
    client_for, superuser, django_assert_num_queries, model, text, queries
):
    client = client_for(superuser)

    with django_assert_num_queries(queries):
        response = client.get(reverse(f"admin:network_{model}_changelist"))

    assert response.status_code == 200
    assert text in response.content.decode()
    # Loaded by migrations: correct, never add or delete.
    assert client.get(reverse(f"admin:network_{model}_add")).status_code == 403


@pytest.mark.django_db
def test_admin_organisation_changelist_filters_and_search(client_for, superuser):
    OrganisationFactory(name="函館くらしサポート", kana="はこだてくらし", is_sample=True)
    OrganisationFactory(name="旭川市福祉保険部", kind=Organisation.Kind.MUNICIPALITY)
    client = client_for(superuser)
    url = reverse("admin:network_organisation_changelist")

    by_kana = client.get(url, {"q": "はこだて"}).context["cl"].result_list
    municipal = client.get(url, {"kind__exact": "municipality"}).context["cl"].result_list
    samples = client.get(url, {"is_sample__exact": "1"}).context["cl"].result_list

    assert [o.name for o in by_kana] == ["函館くらしサポート"]
    assert [o.name for o in municipal] == ["旭川市福祉保険部"]
    assert [o.name for o in samples] == ["函館くらしサポート"]


@pytest.mark.django_db
def test_admin_organisation_change_page_has_commission_inline(client_for, superuser):
    make_commissions(1)
    contractor = Organisation.objects.get(commissions_received__isnull=False)
    client = client_for(superuser)

    response = client.get(reverse("admin:network_organisation_change", args=[contractor.pk]))

    assert response.status_code == 200
    body = response.content.decode()
    assert "委託元市役所" in body
    assert 'id="id_programs_from"' in body or "selectfilter" in body  # filter_horizontal


@pytest.mark.django_db
def test_admin_municipality_autocomplete_for_organisation(client_for, superuser):
    client = client_for(superuser)

    response = client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "network",
            "model_name": "organisation",
            "field_name": "municipality",
            "term": "函館",
        },
    )

    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["函館市"]


@pytest.mark.django_db
def test_admin_organisation_save_derives_region(client_for, superuser):
    client = client_for(superuser)

    response = client.post(
        reverse("admin:network_organisation_add"),
        {
            "name": "釧路ささえあいネット",
            "kana": "くしろささえあいねっと",
            "kind": "support",
            "municipality": municipality("012068").pk,
            "programs": [program("shuro_junbi").pk],
            "is_active": "on",
            "commissions_received-TOTAL_FORMS": "0",
            "commissions_received-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    org = Organisation.objects.get(name="釧路ささえあいネット")
    assert org.region.name == "釧路総合振興局"
    assert list(org.programs.values_list("key", flat=True)) == ["shuro_junbi"]


# --- users ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_user_changelist_shows_contacts(client_for, superuser):
    User.objects.create_contact("contact@example.org", full_name="連絡 先子")
    client = client_for(superuser)
    url = reverse("admin:network_user_changelist")

    body = client.get(url).content.decode()
    contacts = client.get(url, {"account": "contact"}).context["cl"].result_list

    assert "連絡先のみ" in body
    assert "ログイン可" in body
    assert [u.email for u in contacts] == ["contact@example.org"]


@pytest.mark.django_db
def test_admin_user_add_with_password(client_for, superuser):
    client = client_for(superuser)

    response = client.post(
        reverse("admin:network_user_add"),
        {
            "email": "New.Staff@Example.org",
            "full_name": "新任 職員",
            "full_name_kana": "しんにん しょくいん",
            "usable_password": "true",
            "password1": "a-long-Passphrase-2024",
            "password2": "a-long-Passphrase-2024",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="new.staff@example.org")
    assert user.full_name == "新任 職員"
    assert user.check_password("a-long-Passphrase-2024")


@pytest.mark.django_db
def test_admin_user_add_without_password_creates_a_contact(client_for, superuser):
    client = client_for(superuser)

    response = client.post(
        reverse("admin:network_user_add"),
        {
            "email": "contact@example.org",
            "full_name": "連絡 先子",
            "usable_password": "false",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert User.objects.get(email="contact@example.org").is_contact


@pytest.mark.django_db
def test_admin_user_add_rejects_duplicate_email_in_any_case(client_for, superuser):
    client = client_for(superuser)

    response = client.post(
        reverse("admin:network_user_add"),
        {
            "email": "ADMIN@example.org",
            "full_name": "重複",
            "usable_password": "false",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200
    assert "既に登録されています" in str(response.context["adminform"].form.errors["email"])


@pytest.mark.django_db
def test_admin_user_change_page_lists_memberships(client_for, superuser, contractor_member):
    client = client_for(superuser)

    response = client.get(reverse("admin:network_user_change", args=[contractor_member.pk]))

    assert response.status_code == 200
    body = response.content.decode()
    assert "npo@example.org" in body
    assert "札幌生活サポートセンター" in body


# --- invitations -------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_invitation_is_read_only_and_can_be_revoked(client_for, superuser):
    make_invitations(2)
    client = client_for(superuser)
    pending = list(Invitation.objects.values_list("pk", flat=True))

    assert client.get(reverse("admin:network_invitation_add")).status_code == 403
    response = client.post(
        reverse("admin:network_invitation_changelist"),
        {"action": "revoke", "_selected_action": pending},
    )

    assert response.status_code == 302
    assert Invitation.objects.filter(revoked_at__isnull=True).count() == 0


@pytest.mark.django_db
def test_admin_needs_a_superuser(client_for, secretariat):
    response = client_for(secretariat).get(reverse("admin:network_organisation_changelist"))

    assert response.status_code == 302


@pytest.mark.django_db
def test_admin_membership_changelist_search(client_for, superuser, contractor_member):
    MembershipFactory(user__email="someone@example.org")
    client = client_for(superuser)

    found = (
        client.get(reverse("admin:network_membership_changelist"), {"q": "npo@example"})
        .context["cl"]
        .result_list
    )

    assert [m.user.email for m in found] == ["npo@example.org"]
    assert Membership.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["organisation", "membership"])
def test_admin_import_and_export_pages_offer_csv_and_xlsx(client_for, superuser, model):
    client = client_for(superuser)

    changelist = client.get(reverse(f"admin:network_{model}_changelist")).content.decode()
    import_page = client.get(reverse(f"admin:network_{model}_import"))
    export_page = client.get(reverse(f"admin:network_{model}_export"))

    assert reverse(f"admin:network_{model}_import") in changelist
    for page in (import_page, export_page):
        assert page.status_code == 200
        choices = [label for _value, label in page.context["form"].fields["format"].choices]
        assert choices[-2:] == ["CSV（UTF-8・BOM付きUTF-8・Shift_JIS）", "Excel（.xlsx）"]
