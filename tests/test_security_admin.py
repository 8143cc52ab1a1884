"""The admin site's privileges and exports (issue 8, defects 1 and 5).

Defect 1: the secretariat could make itself superuser. Superuser and staff
status, groups, permissions and staff members' accounts are a superuser's
alone; the secretariat holds exactly the named set of network/permissions.py.
Every escalation below is POSTed by the secretariat as the demo makes it (staff
in group `secretariat`), and the database is compared before and after.

Defect 5: formula injection in the admin's CSV/XLSX exports. Every exported
text cell goes through core.importing.defuse, and a defused cell imports back
as it was.
"""

import csv
import io

import openpyxl
import pytest
from allauth.account.models import EmailAddress
from django import forms
from django.contrib.auth.models import Group, Permission
from django.db.models.fields.files import FieldFile
from django.urls import reverse

from core.importing import CSV, XLSX, defuse, import_errors
from network.models import Membership, Organisation, User
from network.permissions import SECRETARIAT_ADMIN_PERMISSIONS, grant_secretariat_permissions
from network.resources import MembershipResource, OrganisationResource
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory


def make_admin_secretariat(user):
    """The secretariat as seed_demo makes it: staff, group `secretariat`, whose
    permissions are the named set (re-applied: a transactional test elsewhere
    may have flushed what the migration set)."""
    grant_secretariat_permissions(Group=Group, Permission=Permission)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return User.objects.get(pk=user.pk)  # no cached permissions


@pytest.fixture
def admin_secretariat(secretariat):
    return make_admin_secretariat(secretariat)


def privileges(user):
    """Everything about an account that decides what it may do, and who owns it."""
    user = User.objects.get(pk=user.pk)
    return {
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "is_active": user.is_active,
        "email": user.email,
        "password": user.password,
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "user_permissions": sorted(user.user_permissions.values_list("codename", flat=True)),
    }


def group_permissions(name):
    return sorted(
        Group.objects.get(name=name).permissions.values_list("content_type__app_label", "codename")
    )


def _put(data, key, field, value):
    """Encode one form value as a browser would post it."""
    if value is None or value is False or isinstance(value, FieldFile):
        return  # unchecked box, empty value, or a stored file left as it is
    if isinstance(field.widget, forms.MultiWidget):
        for index, part in enumerate(field.widget.decompress(value)):
            if part is not None:
                data[f"{key}_{index}"] = str(part)
        return
    data[key] = "on" if value is True else value


def change_form_data(client, url, response=None):
    """The change form's data as its page would submit it (read as a
    superuser, so that every field is there to be tampered with)."""
    response = response or client.get(url)
    assert response.status_code == 200
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if not field.disabled:
            _put(data, name, field, form[name].value())
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name in formset.management_form.fields:
            data[f"{formset.prefix}-{name}"] = formset.management_form[name].value()
        for subform in formset.forms:
            for name, field in subform.fields.items():
                if not field.disabled:
                    _put(data, subform.add_prefix(name), field, subform[name].value())
    return data


# --- the named set, the same in production as in the demo --------------------------


@pytest.mark.django_db
def test_secretariat_group_permissions_after_migrate_are_the_named_set():
    # No call to grant_secretariat_permissions here: migration 0003 did it.
    expected = sorted(tuple(name.split(".")) for name in SECRETARIAT_ADMIN_PERMISSIONS)

    assert group_permissions("secretariat") == expected
    assert group_permissions("committee") == []


@pytest.mark.django_db
def test_secretariat_permissions_never_include_users_groups_or_permissions():
    names = set(SECRETARIAT_ADMIN_PERMISSIONS)

    assert {n for n in names if n.startswith("auth.")} == set()
    assert {n for n in names if n.split(".")[1].split("_")[0] != "view"} == {
        "network.add_organisation",
        "network.change_organisation",
        "network.add_membership",
        "network.change_membership",
    }


# --- escalations: each POSTed by the secretariat, nothing changes ---------------------


@pytest.mark.django_db
def test_secretariat_cannot_make_itself_superuser(client_for, superuser, admin_secretariat):
    url = reverse("admin:network_user_change", args=[admin_secretariat.pk])
    data = change_form_data(client_for(superuser), url)
    data.update(
        is_superuser="on",
        is_staff="on",
        groups=[g.pk for g in Group.objects.all()],
        user_permissions=list(Permission.objects.values_list("pk", flat=True)),
    )
    before = privileges(admin_secretariat)

    response = client_for(admin_secretariat).post(url, data)

    assert response.status_code == 403
    assert privileges(admin_secretariat) == before
    assert (
        client_for(admin_secretariat).get(reverse("admin:auth_group_changelist")).status_code == 403
    )


@pytest.mark.django_db
def test_secretariat_cannot_make_another_member_superuser(
    client_for, superuser, admin_secretariat, contractor_member
):
    url = reverse("admin:network_user_change", args=[contractor_member.pk])
    data = change_form_data(client_for(superuser), url)
    data.update(is_superuser="on", is_staff="on", groups=[Group.objects.get(name="secretariat").pk])
    before = privileges(contractor_member)

    response = client_for(admin_secretariat).post(url, data)

    assert response.status_code == 403
    assert privileges(contractor_member) == before


@pytest.mark.django_db
def test_secretariat_cannot_change_the_superusers_account(client_for, superuser, admin_secretariat):
    url = reverse("admin:network_user_change", args=[superuser.pk])
    data = change_form_data(client_for(superuser), url)
    data.update(email="taken-over@example.org", is_superuser="", is_active="")
    del data["is_superuser"], data["is_active"]
    before = privileges(superuser)

    response = client_for(admin_secretariat).post(url, data)

    assert response.status_code == 403
    assert privileges(superuser) == before


@pytest.mark.parametrize("target", ["superuser", "other_staff"])
@pytest.mark.django_db
def test_secretariat_cannot_set_a_staff_members_password(
    client_for, superuser, admin_secretariat, target
):
    account = superuser if target == "superuser" else UserFactory(is_staff=True)
    url = reverse("admin:auth_user_password_change", args=[account.pk])
    before = privileges(account)

    response = client_for(admin_secretariat).post(
        url,
        {"password1": "new-Secret-9876", "password2": "new-Secret-9876", "usable_password": "true"},
    )

    assert response.status_code in (403, 404)
    assert privileges(account) == before
    assert not User.objects.get(pk=account.pk).check_password("new-Secret-9876")


@pytest.mark.django_db
def test_secretariat_cannot_add_a_superuser(client_for, admin_secretariat):
    users_before = set(User.objects.values_list("pk", flat=True))

    response = client_for(admin_secretariat).post(
        reverse("admin:network_user_add"),
        {
            "email": "new-root@example.org",
            "full_name": "新 管理者",
            "full_name_kana": "しん かんりしゃ",
            "usable_password": "true",
            "password1": "new-Secret-9876",
            "password2": "new-Secret-9876",
            "is_superuser": "on",
            "is_staff": "on",
            "groups": [Group.objects.get(name="secretariat").pk],
        },
    )

    assert response.status_code == 403
    assert set(User.objects.values_list("pk", flat=True)) == users_before
    assert not User.objects.filter(is_superuser=True).exclude(email="admin@example.org").exists()


@pytest.mark.django_db
def test_secretariat_cannot_edit_group_permissions(client_for, admin_secretariat):
    group = Group.objects.get(name="secretariat")
    before = group_permissions("secretariat")
    client = client_for(admin_secretariat)

    change = client.post(
        reverse("admin:auth_group_change", args=[group.pk]),
        {
            "name": "secretariat",
            "permissions": list(Permission.objects.values_list("pk", flat=True)),
        },
    )
    add = client.post(
        reverse("admin:auth_group_add"),
        {"name": "root", "permissions": list(Permission.objects.values_list("pk", flat=True))},
    )

    assert (change.status_code, add.status_code) == (403, 403)
    assert group_permissions("secretariat") == before
    assert sorted(Group.objects.values_list("name", flat=True)) == ["committee", "secretariat"]


@pytest.mark.django_db
def test_group_admin_answers_superusers_only_whatever_the_permissions(
    client_for, superuser, admin_secretariat
):
    # Even a secretariat that was (wrongly) given every auth permission.
    admin_secretariat.user_permissions.set(
        Permission.objects.filter(content_type__app_label="auth")
    )
    staff = User.objects.get(pk=admin_secretariat.pk)
    group = Group.objects.get(name="committee")

    response = client_for(staff).post(
        reverse("admin:auth_group_change", args=[group.pk]),
        {"name": "committee", "permissions": list(Permission.objects.values_list("pk", flat=True))},
    )

    assert response.status_code == 403
    assert group_permissions("committee") == []
    assert client_for(superuser).get(reverse("admin:auth_group_changelist")).status_code == 200


@pytest.mark.django_db
def test_email_address_admin_answers_superusers_only_whatever_the_permissions(
    client_for, superuser, admin_secretariat
):
    """Password reset goes by these addresses: adding one to the superuser's
    account would hand it over."""
    admin_secretariat.user_permissions.set(
        Permission.objects.filter(content_type__app_label="account")
    )
    staff = User.objects.get(pk=admin_secretariat.pk)
    address = EmailAddress.objects.create(
        user=superuser, email=superuser.email, verified=True, primary=True
    )
    before = sorted(EmailAddress.objects.values_list("user", "email", "verified", "primary"))
    client = client_for(staff)

    add = client.post(
        reverse("admin:account_emailaddress_add"),
        {"user": superuser.pk, "email": "mine@example.org", "verified": "on", "primary": "on"},
    )
    change = client.post(
        reverse("admin:account_emailaddress_change", args=[address.pk]),
        {"user": superuser.pk, "email": "mine@example.org", "verified": "on", "primary": "on"},
    )

    assert (add.status_code, change.status_code) == (403, 403)
    assert (
        sorted(EmailAddress.objects.values_list("user", "email", "verified", "primary")) == before
    )


@pytest.mark.django_db
def test_user_admin_with_change_permission_neither_shows_nor_accepts_privileges(
    client_for, superuser, admin_secretariat, contractor_member
):
    """Defence in depth: a staff member given the user admin's change
    permission edits names and e-mail, never the privilege fields."""
    admin_secretariat.user_permissions.add(Permission.objects.get(codename="change_user"))
    staff = User.objects.get(pk=admin_secretariat.pk)
    client = client_for(staff)
    for account in (staff, contractor_member):
        url = reverse("admin:network_user_change", args=[account.pk])
        data = change_form_data(client_for(superuser), url)
        data.update(
            full_name="名前 だけ変更",
            is_superuser="on",
            is_staff="on",
            groups=[g.pk for g in Group.objects.all()],
            user_permissions=list(Permission.objects.values_list("pk", flat=True)),
        )
        before = privileges(account)

        page = client_for(staff).get(url)
        response = client.post(url, data)

        form = page.context["adminform"].form
        assert (
            sorted(set(form.fields) & {"is_staff", "is_superuser", "groups", "user_permissions"})
            == []
        )
        assert 'name="is_superuser"' not in page.content.decode()
        assert response.status_code == 302
        assert User.objects.get(pk=account.pk).full_name == "名前 だけ変更"
        assert privileges(account) == before


@pytest.mark.django_db
def test_user_admin_with_change_permission_still_refuses_staff_accounts(
    client_for, superuser, admin_secretariat
):
    admin_secretariat.user_permissions.add(Permission.objects.get(codename="change_user"))
    staff = User.objects.get(pk=admin_secretariat.pk)
    other_staff = UserFactory(is_staff=True, email="desk@example.org")
    for account in (superuser, other_staff):
        before = privileges(account)
        client = client_for(staff)

        change = client.post(
            reverse("admin:network_user_change", args=[account.pk]),
            {"email": "mine@example.org", "full_name": "乗っ取り", "full_name_kana": "のっとり"},
        )
        password = client.post(
            reverse("admin:auth_user_password_change", args=[account.pk]),
            {
                "password1": "new-Secret-9876",
                "password2": "new-Secret-9876",
                "usable_password": "true",
            },
        )

        assert (change.status_code, password.status_code) == (403, 403)
        assert privileges(account) == before


@pytest.mark.django_db
def test_superuser_still_changes_privileges(client_for, superuser, contractor_member):
    url = reverse("admin:network_user_change", args=[contractor_member.pk])
    client = client_for(superuser)
    data = change_form_data(client, url)
    data.update(is_staff="on", groups=[Group.objects.get(name="secretariat").pk])

    response = client.post(url, data)

    assert response.status_code == 302
    assert privileges(contractor_member)["is_staff"] is True
    assert privileges(contractor_member)["groups"] == ["secretariat"]


# --- exports: formula injection --------------------------------------------------------

HOSTILE = {
    "equals": "=1+1",
    "minus": "-1+cmd|' /C calc'!A0",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "plus": '+HYPERLINK("http://e.x","押す")',
    "phone": "+81-11-222-3333",
}


def _export(client, model, fmt):
    resource = {"organisation": OrganisationResource, "membership": MembershipResource}[model]
    data = {"format": {"csv": "0", "xlsx": "1"}[fmt], "resource": "0"}
    for field in resource().get_export_order():
        data[f"{resource.__name__.lower()}_{field}"] = "on"
    response = client.post(reverse(f"admin:network_{model}_export"), data)
    assert response.status_code == 200
    return response.content


def _rows(content, fmt):
    """Exported rows as dicts of text, and whether any XLSX cell is a formula."""
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig")))), False
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    cells = list(sheet.iter_rows())
    formulae = any(cell.data_type == "f" for row in cells for cell in row)
    header = [c.value for c in cells[0]]
    rows = [
        dict(zip(header, ["" if c.value is None else str(c.value) for c in row], strict=True))
        for row in cells[1:]
    ]
    return rows, formulae


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("kind", list(HOSTILE))
@pytest.mark.django_db
def test_admin_organisation_export_defuses_formulae(client_for, superuser, kind, fmt):
    value = HOSTILE[kind]
    OrganisationFactory(name=value, kana=value, phone=value, address=value, website="")

    rows, formulae = _rows(_export(client_for(superuser), "organisation", fmt), fmt)

    assert not formulae
    [row] = rows
    expected = "'" + value
    assert (row["組織名"], row["かな"], row["電話番号"], row["住所"]) == (expected,) * 4


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("kind", list(HOSTILE))
@pytest.mark.django_db
def test_admin_membership_export_defuses_formulae(client_for, superuser, kind, fmt):
    value = HOSTILE[kind]
    MembershipFactory(
        user__full_name=value,
        user__full_name_kana=value,
        user__email=f"{value}@example.org",
        organisation__name=value,
    )

    rows, formulae = _rows(_export(client_for(superuser), "membership", fmt), fmt)

    assert not formulae
    [row] = rows
    expected = "'" + value
    assert (row["氏名"], row["ふりがな"], row["組織名"]) == (expected,) * 3
    assert row["メールアドレス"] == f"'{value}@example.org"


@pytest.mark.django_db
def test_export_formats_defuse_whatever_the_import_export_setting(settings):
    settings.IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = False
    OrganisationFactory(name="=1+1", phone="-3")

    text = CSV().export_data(OrganisationResource().export()).decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(text)))

    # A plain negative number is a number, not a formula: left as it is.
    assert (row["組織名"], row["電話番号"]) == ("'=1+1", "-3")
    assert defuse("'=1+1") == "'=1+1"  # escaping twice changes nothing


@pytest.mark.parametrize("fmt", [CSV, XLSX], ids=["csv", "xlsx"])
@pytest.mark.django_db
def test_defused_export_imports_back_unchanged(fmt):
    """An exported file edited and re-imported: the quote that kept Excel from
    running a cell is dropped again, so the phone number stays +81-…."""
    org = OrganisationFactory(name="+札幌サポート", phone="+81-11-222-3333", address="=東区1-1")

    dataset = fmt().create_dataset(fmt().export_data(OrganisationResource().export()))
    result = OrganisationResource().import_data(dataset, dry_run=False, raise_errors=False)

    assert import_errors(result) == []
    org.refresh_from_db()
    assert (org.name, org.phone, org.address) == ("+札幌サポート", "+81-11-222-3333", "=東区1-1")
    assert Organisation.objects.count() == 1


@pytest.mark.django_db
def test_membership_export_import_round_trip_keeps_values(contractor_org):
    MembershipFactory(user__email="a@example.org", organisation=contractor_org)

    dataset = CSV().create_dataset(CSV().export_data(MembershipResource().export()))
    result = MembershipResource().import_data(dataset, dry_run=False, raise_errors=False)

    assert import_errors(result) == []
    assert list(Membership.objects.values_list("user__email", "organisation")) == [
        ("a@example.org", contractor_org.pk)
    ]
