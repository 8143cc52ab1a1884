"""The second factor (allauth.mfa, TOTP with recovery codes; docs/security.md).

Where TSUNAGARI_MFA_REQUIRED is on (production's default) the secretariat, the
committee, superusers and admin-site staff set up an authenticator app before
they can use anything (network.middleware.StaffMfaRequiredMiddleware), cannot
switch it off (network.adapters.MfaAdapter), and sign in with password and
code. Members may set one up too; it is not required of them. The admin has
no login form of its own (config/urls.py), so it cannot be a way round.

Codes are computed as an authenticator app would: from the secret the set-up
page shows and the current time.
"""

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.core.cache import cache
from django.urls import reverse

from network import access
from tests.factories import PASSWORD
from tests.test_security_admin import make_admin_secretariat

pytestmark = pytest.mark.django_db

MUST_SET_UP = "2段階認証の設定が必要です"


@pytest.fixture(autouse=True)
def fresh_cache():
    """Used codes and rate limits live in the cache: one test's must not be the next's."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def required(settings):
    settings.TSUNAGARI_MFA_REQUIRED = True
    return settings


def code_for(secret):
    """What the authenticator app shows now. A code is good for its 30-second
    period only, so near the period's end this waits for the next one rather
    than hand over a code that may expire on its way."""
    if 30 - time.time() % 30 < 5:
        time.sleep(30 - time.time() % 30 + 0.1)
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def with_totp(user):
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


def login(client, user):
    return client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})


def signed_in(client, user):
    """Signed in through the login form, as a person is (a fresh sign-in is
    what lets them set up or switch off a factor without re-entering the
    password); through the code prompt when they have an app."""
    response = login(client, user)
    assert response.status_code == 302
    if response.url == reverse("mfa_authenticate"):
        secret = decrypted_secret(user)
        response = client.post(reverse("mfa_authenticate"), {"code": code_for(secret)})
        assert response.status_code == 302
    assert signed_in_as(client) == str(user.pk)
    return client


def reauthenticated(client, response):
    """Setting up or switching off a factor asks for the password again
    (allauth's reauthentication): given that redirect, enter it and follow."""
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_reauthenticate"))
    page = client.get(response.url)
    assert "本人確認" in page.content.decode()
    done = client.post(response.url, {"password": PASSWORD}, follow=True)
    assert done.status_code == 200
    return done


def decrypted_secret(user):
    from allauth.mfa.utils import decrypt

    totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    return decrypt(totp.data["secret"])


def signed_in_as(client):
    return client.session.get("_auth_user_id")


# --- who must ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "on", "expected"),
    [
        ("secretariat", True, True),
        ("committee", True, True),
        ("superuser", True, True),
        ("contractor_member", True, False),
        ("municipal_member", True, False),
        ("org_admin", True, False),
        ("outsider", True, False),
        ("anonymous", True, False),
        ("secretariat", False, False),
        ("superuser", False, False),
    ],
)
def test_requires_mfa_names_the_staff_when_it_is_on(settings, actors, actor, on, expected):
    settings.TSUNAGARI_MFA_REQUIRED = on
    user = actors[actor]

    assert bool(access.requires_mfa(user)) is expected


def test_requires_mfa_includes_admin_site_staff(required, secretariat):
    staff = make_admin_secretariat(secretariat)
    staff.groups.clear()

    assert access.requires_mfa(type(staff).objects.get(pk=staff.pk))


# --- the staff set one up before anything else ------------------------------------------


@pytest.mark.parametrize("actor", ["secretariat", "committee", "superuser"])
def test_staff_without_an_app_are_sent_to_set_one_up(required, client, actors, actor):
    signed_in(client, actors[actor])

    for url in (reverse("home"), reverse("network:people_list"), reverse("admin:index")):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url == reverse("mfa_activate_totp"), url
    confirm = client.get(reverse("mfa_activate_totp"))
    page = reauthenticated(client, confirm)

    assert confirm.url.startswith(reverse("account_reauthenticate"))
    assert page.status_code == 200
    assert page.content.decode().count(MUST_SET_UP) == 1  # told once, not once per page tried
    assert "ポータルを使う前に2段階認証の設定が必要です" in page.content.decode()


def test_a_post_before_setting_up_writes_nothing(required, client_for, secretariat):
    from network.models import Organisation

    before = Organisation.objects.count()

    response = client_for(secretariat).post(
        reverse("network:organisation_create"), {"name": "設定前の団体", "kind": "support"}
    )

    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")
    assert Organisation.objects.count() == before


def test_members_are_not_asked(required, client_for, contractor_member):
    response = client_for(contractor_member).get(reverse("home"))

    assert response.status_code == 200
    assert MUST_SET_UP not in response.content.decode()


def test_nobody_is_asked_when_it_is_off(client_for, secretariat):
    assert client_for(secretariat).get(reverse("home")).status_code == 200


def test_setting_up_with_the_shown_secret_opens_the_portal(required, client, secretariat):
    signed_in(client, secretariat)
    page = reauthenticated(client, client.get(reverse("mfa_activate_totp")))
    content = page.content.decode()
    secret = re.search(r'id="authenticator-secret">([A-Z2-7=]+)<', content).group(1)
    assert 'src="data:image/svg+xml;base64,' in content  # the QR code, under the CSP

    wrong = client.post(reverse("mfa_activate_totp"), {"code": "000000"})
    assert wrong.status_code == 200
    assert "コードが正しくありません" in wrong.content.decode()
    assert not Authenticator.objects.filter(user=secretariat).exists()

    done = client.post(reverse("mfa_activate_totp"), {"code": code_for(secret)})

    assert done.status_code == 302
    assert done.url == reverse("mfa_view_recovery_codes")
    assert sorted(
        Authenticator.objects.filter(user=secretariat).values_list("type", flat=True)
    ) == [
        Authenticator.Type.RECOVERY_CODES,
        Authenticator.Type.TOTP,
    ]
    codes = client.get(done.url).content.decode()
    assert codes.count("<li><code>") == 10
    assert client.get(reverse("home")).status_code == 200


def test_the_set_up_page_shows_no_secret_in_the_admin(client_for, superuser, contractor_member):
    """The stored secret never leaves the server once set up: not in the admin either."""
    secret = with_totp(contractor_member)
    totp = Authenticator.objects.get(user=contractor_member, type=Authenticator.Type.TOTP)
    client = client_for(superuser)

    change = client.get(reverse("admin:mfa_authenticator_change", args=[totp.pk]))
    listing = client.get(reverse("admin:mfa_authenticator_changelist"))

    assert change.status_code == listing.status_code == 200
    for page in (change, listing):
        content = page.content.decode()
        assert secret not in content
        assert totp.data["secret"] not in content
    assert 'name="data"' not in change.content.decode()


def test_a_superuser_removes_a_lost_app_and_the_person_sets_up_a_new_one(
    required, client_for, superuser, secretariat
):
    with_totp(superuser)
    with_totp(secretariat)
    totp = Authenticator.objects.get(user=secretariat, type=Authenticator.Type.TOTP)

    removed = client_for(superuser).post(
        reverse("admin:mfa_authenticator_delete", args=[totp.pk]), {"post": "yes"}
    )

    assert removed.status_code == 302
    assert not Authenticator.objects.filter(pk=totp.pk).exists()
    assert client_for(secretariat).get(reverse("home")).url == reverse("mfa_activate_totp")


# --- signing in with the second factor ----------------------------------------------------


def test_login_asks_for_the_code_and_a_wrong_one_signs_nobody_in(client, secretariat):
    secret = with_totp(secretariat)

    first = login(client, secretariat)
    assert first.status_code == 302
    assert first.url == reverse("mfa_authenticate")
    assert signed_in_as(client) is None
    stage = client.get(first.url)
    assert "認証アプリに表示されている6桁のコード" in stage.content.decode()

    wrong = client.post(reverse("mfa_authenticate"), {"code": "123456"})
    assert wrong.status_code == 200
    assert "コードが正しくありません" in wrong.content.decode()
    assert signed_in_as(client) is None

    right = client.post(reverse("mfa_authenticate"), {"code": code_for(secret)})

    assert right.status_code == 302
    assert signed_in_as(client) == str(secretariat.pk)


@pytest.mark.parametrize("kind", ["app", "recovery"])
def test_a_code_signs_in_once(client, secretariat, kind):
    secret = with_totp(secretariat)
    recovery = Authenticator.objects.get(user=secretariat, type=Authenticator.Type.RECOVERY_CODES)
    code = code_for(secret) if kind == "app" else RecoveryCodes(recovery).get_unused_codes()[0]

    login(client, secretariat)
    used = client.post(reverse("mfa_authenticate"), {"code": code})
    assert used.status_code == 302
    assert signed_in_as(client) == str(secretariat.pk)
    client.post(reverse("account_logout"))
    login(client, secretariat)
    again = client.post(reverse("mfa_authenticate"), {"code": code})

    assert again.status_code == 200
    assert "コードが正しくありません" in again.content.decode()
    assert signed_in_as(client) is None


def test_the_admin_has_no_password_only_login(client, superuser):
    """/admin/login/ sends people to the site's login, which asks for the code;
    a password posted to it signs nobody in."""
    with_totp(superuser)

    page = client.get(reverse("admin:login") + "?next=/admin/")
    posted = client.post(
        reverse("admin:login"),
        {"username": superuser.email, "password": PASSWORD, "next": "/admin/"},
    )

    assert page.status_code == 302
    assert page.url.startswith(reverse("account_login"))
    assert "next=%2Fadmin%2F" in page.url
    assert posted.status_code == 302
    assert posted.url.startswith(reverse("account_login"))
    assert signed_in_as(client) is None


# --- switching it off ------------------------------------------------------------------------


def test_staff_cannot_switch_it_off_where_it_is_required(required, client, secretariat):
    with_totp(secretariat)
    signed_in(client, secretariat)

    page = reauthenticated(client, client.get(reverse("mfa_deactivate_totp")))
    posted = client.post(reverse("mfa_deactivate_totp"))

    assert "2段階認証を無効にできません" in page.content.decode()
    assert posted.status_code == 200
    assert Authenticator.objects.filter(user=secretariat, type=Authenticator.Type.TOTP).exists()


def test_a_member_may_switch_theirs_off(required, client, contractor_member):
    with_totp(contractor_member)
    signed_in(client, contractor_member)

    page = reauthenticated(client, client.get(reverse("mfa_deactivate_totp")))
    posted = client.post(reverse("mfa_deactivate_totp"))

    assert "ログインはパスワードだけになります" in page.content.decode()
    assert posted.status_code == 302
    assert not Authenticator.objects.filter(
        user=contractor_member, type=Authenticator.Type.TOTP
    ).exists()


def test_the_password_page_leads_to_the_set_up(client_for, contractor_member):
    content = client_for(contractor_member).get(reverse("account_change_password")).content
    page = client_for(contractor_member).get(reverse("mfa_index")).content.decode()

    assert reverse("mfa_index") in content.decode()
    assert "まだ設定されていません" in page
    assert reverse("mfa_activate_totp") in page


def test_confirming_it_is_you_with_a_code_instead_of_the_password(client, contractor_member):
    with_totp(contractor_member)
    signed_in(client, contractor_member)
    recovery = Authenticator.objects.get(
        user=contractor_member, type=Authenticator.Type.RECOVERY_CODES
    )
    asked = client.get(reverse("mfa_deactivate_totp"))
    options = client.get(asked.url).content.decode()
    assert reverse("mfa_reauthenticate") in options  # offered beside the password
    url = reverse("mfa_reauthenticate") + "?next=" + reverse("mfa_deactivate_totp")
    page = client.get(url)

    wrong = client.post(url, {"code": "999999"})
    right = client.post(url, {"code": RecoveryCodes(recovery).get_unused_codes()[0]})

    assert "認証アプリのコードを入力してください" in page.content.decode()
    assert "コードが正しくありません" in wrong.content.decode()
    assert right.status_code == 302
    assert right.url == reverse("mfa_deactivate_totp")
    assert "ログインはパスワードだけになります" in client.get(right.url).content.decode()
