"""`manage.py seed_demo`: the demo network of DESIGN §5 and issue 2."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import override_settings

from network import demo
from network.models import Commission, Membership, Municipality, Organisation, User
from network.permissions import SECRETARIAT_ADMIN_PERMISSIONS

pytestmark = pytest.mark.django_db

K = Organisation.Kind


def seed() -> str:
    out = StringIO()
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts() -> dict:
    return {
        "organisations": Organisation.objects.count(),
        "users": User.objects.count(),
        "memberships": Membership.objects.count(),
        "commissions": Commission.objects.count(),
        "programs": Organisation.programs.through.objects.count(),
    }


@pytest.fixture
def seeded(db):
    seed()


def test_seed_demo_creates_49_municipal_organisations(seeded):
    municipal = Organisation.objects.filter(kind=K.MUNICIPALITY)
    assert municipal.count() == 49
    cities = municipal.filter(municipality__isnull=False)
    assert cities.count() == 35
    assert set(cities.values_list("municipality__kind", flat=True)) == {"市"}
    assert cities.values("municipality").distinct().count() == 35
    assert all(
        org.region_id == org.municipality.region_id for org in cities.select_related("municipality")
    )
    regional = municipal.filter(municipality__isnull=True)
    assert regional.count() == 14
    assert regional.values("region").distinct().count() == 14
    assert regional.filter(name="北海道 根室振興局 保健環境部 社会福祉課").exists()
    assert (
        Organisation.objects.filter(
            kind=K.MUNICIPALITY, municipality=Municipality.objects.get(name="札幌市")
        )
        .get()
        .name.startswith("札幌市 ")
    )


def test_seed_demo_creates_sample_contractors_and_support_organisations(seeded):
    invented = Organisation.objects.filter(kind__in=[K.CONTRACTOR, K.SUPPORT], is_sample=True)
    assert invented.count() >= 40
    # The one real 支援団体 is the NPO that runs the network (named in the seed).
    real = Organisation.objects.filter(kind__in=[K.CONTRACTOR, K.SUPPORT], is_sample=False)
    assert list(real.values_list("name", flat=True)) == [demo.SECRETARIAT_ORG["name"]]
    assert not Organisation.objects.filter(kind=K.OTHER, is_sample=False).exists()
    assert Organisation.objects.filter(kind=K.OTHER).count() >= 1
    # Spread over the regions, with municipality and region consistent.
    assert invented.values("region").distinct().count() >= 12
    assert not invented.filter(municipality__isnull=True).exists()
    # The seed's 5th meeting was for 子どもの学習・生活支援 organisations only: 9 of them.
    assert invented.filter(programs__key="kodomo_gakushu").distinct().count() >= 9


def test_seed_demo_creates_the_ministry(seeded):
    government = Organisation.objects.get(kind=K.GOVERNMENT)
    assert government.name == "厚生労働省 社会・援護局 地域福祉課 生活困窮者自立支援室"
    assert government.municipality is None and government.region is None


def test_seed_demo_links_every_contractor_to_commissioning_municipalities(seeded):
    from core.dates import current_fiscal_year

    contractors = Organisation.objects.filter(kind=K.CONTRACTOR)
    for contractor in contractors:
        years = set(contractor.commissions_received.values_list("fiscal_year", flat=True))
        assert years == {2021, current_fiscal_year()}, contractor.name
    assert not Commission.objects.exclude(commissioner__kind=K.MUNICIPALITY).exists()
    # Commissions only for programs the contractor runs.
    for commission in Commission.objects.select_related("contractor", "program")[:50]:
        assert commission.contractor.programs.filter(pk=commission.program_id).exists()
    # A 振興局 commissions for its towns, e.g. 根室振興局.
    assert Commission.objects.filter(
        commissioner__name="北海道 根室振興局 保健環境部 社会福祉課"
    ).exists()


def test_seed_demo_gives_every_organisation_staff(seeded):
    assert not Organisation.objects.filter(memberships__isnull=True).exists()
    staff = User.objects.filter(email__startswith="staff-")
    assert staff.count() >= 2 * 49
    assert not any(user.has_usable_password() for user in staff)  # contacts


def test_seed_demo_is_idempotent(seeded):
    first = counts()
    output = seed()
    assert counts() == first
    assert "自治体: 49（市 35・振興局 14）" in output


def test_seed_demo_refuses_without_debug(db):
    with override_settings(DEBUG=False), pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", stdout=StringIO())
    assert not Organisation.objects.exists()
    assert not User.objects.exists()


@pytest.mark.parametrize("account", demo.DEMO_ACCOUNTS, ids=lambda a: a.email.split("@")[0])
def test_seed_demo_account_logs_in_with_demo_password(seeded, account):
    user = authenticate(email=account.email, password="tsunagari-demo")
    assert user is not None
    assert user.full_name == account.full_name


def memberships_of(email):
    return {
        (m.organisation.name, m.organisation.kind, m.staff_role, m.is_org_admin)
        for m in Membership.objects.filter(user__email=email).select_related("organisation")
    }


def test_seed_demo_accounts_have_their_roles(seeded):
    admin = User.objects.get(email="admin@example.org")
    assert admin.is_superuser and admin.is_staff
    assert not admin.groups.exists()

    secretariat = User.objects.get(email="secretariat@example.org")
    assert list(secretariat.groups.values_list("name", flat=True)) == ["secretariat"]
    # Staff (for the admin imports) with exactly the named set, not superuser.
    assert secretariat.is_staff and not secretariat.is_superuser
    assert secretariat.get_all_permissions() == set(SECRETARIAT_ADMIN_PERMISSIONS)
    assert not secretariat.has_perm("network.change_user")
    assert not secretariat.has_perm("auth.change_group")
    assert memberships_of("secretariat@example.org") == {
        (demo.SECRETARIAT_ORG["name"], K.SUPPORT, "manager", True)
    }

    committee = User.objects.get(email="committee@example.org")
    assert list(committee.groups.values_list("name", flat=True)) == ["committee"]
    assert memberships_of("committee@example.org") == {
        ("北海道 根室振興局 保健環境部 社会福祉課", K.MUNICIPALITY, "gyosei", False)
    }

    (city,) = memberships_of("city@example.org")
    assert city[0].startswith("札幌市 ") and city[1:] == (K.MUNICIPALITY, "gyosei", False)
    assert not User.objects.get(email="city@example.org").groups.exists()

    (npo,) = memberships_of("npo@example.org")
    (npo_admin,) = memberships_of("npo-admin@example.org")
    assert npo[0] == npo_admin[0]
    assert npo[1:] == (K.CONTRACTOR, "sodan", False)
    assert npo_admin[1:] == (K.CONTRACTOR, "shunin_sodan", True)
    # The demo 受託団体 is commissioned by the demo 自治体 (city@ sees its participation).
    assert Commission.objects.filter(contractor__name=npo[0], commissioner__name=city[0]).exists()
    for email in ["city@example.org", "npo@example.org", "npo-admin@example.org"]:
        user = User.objects.get(email=email)
        assert not user.is_staff and not user.is_superuser


def test_seed_demo_resets_demo_accounts(seeded):
    user = User.objects.get(email="npo@example.org")
    user.set_password("something-else-entirely")
    user.is_active = False
    user.save()
    Membership.objects.filter(user=user).update(is_org_admin=True)

    seed()

    user.refresh_from_db()
    assert user.is_active
    assert user.check_password("tsunagari-demo")
    assert not Membership.objects.filter(user=user, is_org_admin=True).exists()
