"""When a person's sessions end (issue #15, docs/security.md §13).

Every test signs in through the real login form, with separate clients as
separate browsers (separate sessions), makes the change, and then looks at
the next request of each client.
"""

import re
import time

import pytest
from django.test import Client
from django.urls import reverse

from network import access, services
from network.middleware import LAST_ACTIVITY_KEY
from network.models import Membership, User

from .factories import PASSWORD, MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Otaru-canal-lights-77"


def sign_in(user, password=PASSWORD) -> Client:
    """A new browser, signed in through allauth's login form."""
    client = Client()
    response = client.post(reverse("account_login"), {"login": user.email, "password": password})
    assert response.status_code == 302, response.content.decode()
    assert client.session["_auth_user_id"] == str(user.pk)
    return client


def signed_in_as(client):
    """Who the client's next request is made by (None: anonymous)."""
    response = client.get(reverse("network:organisation_list"))
    user = response.wsgi_request.user
    if not user.is_authenticated:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
        assert "_auth_user_id" not in client.session
        return None
    return user.pk


# --- (a) deactivation -------------------------------------------------------------


def test_deactivated_user_is_signed_out_of_every_session(contractor_member):
    first, second = sign_in(contractor_member), sign_in(contractor_member)
    # A session made by Django's own backend too (the admin, force_login).
    third = Client()
    third.force_login(contractor_member, backend="django.contrib.auth.backends.ModelBackend")
    assert {signed_in_as(c) for c in (first, second, third)} == {contractor_member.pk}

    contractor_member.is_active = False
    contractor_member.save(update_fields=["is_active"])

    # Nothing of ours does this: ModelBackend.get_user (which allauth's backend
    # inherits) returns no user for an inactive account, so every request is
    # anonymous (the session itself is kept; see the admin test below).
    for browser in (first, second, third):
        response = browser.get(reverse("network:organisation_list"))
        assert not response.wsgi_request.user.is_authenticated
        assert response["Location"].startswith(reverse("account_login"))
    again = Client()
    again.post(reverse("account_login"), {"login": contractor_member.email, "password": PASSWORD})
    assert "_auth_user_id" not in again.session


def test_deactivating_in_admin_ends_sessions_for_good(contractor_member, superuser):
    from .test_security_admin import change_form_data

    browser = sign_in(contractor_member)
    admin = sign_in(superuser)
    url = reverse("admin:network_user_change", args=[contractor_member.pk])
    data = change_form_data(admin, url)
    del data["is_active"]  # the box unticked
    response = admin.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    contractor_member.refresh_from_db()
    assert not contractor_member.is_active

    # Re-activated later: the old session does not come back to life.
    User.objects.filter(pk=contractor_member.pk).update(is_active=True)
    assert signed_in_as(browser) is None
    assert signed_in_as(admin) == superuser.pk


# --- (b) the last membership ---------------------------------------------------------


def _remove(org_admin_client, membership):
    url = reverse(
        "network:membership_remove",
        kwargs={"pk": membership.organisation_id, "membership_pk": membership.pk},
    )
    response = org_admin_client.post(url)
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_removing_last_membership_signs_member_out_everywhere(contractor_member, org_admin):
    membership = contractor_member.memberships.get()
    first, second = sign_in(contractor_member), sign_in(contractor_member)
    admin = sign_in(org_admin)

    _remove(admin, membership)

    assert [signed_in_as(c) for c in (first, second)] == [None, None]
    # The org admin who removed them is still signed in.
    assert signed_in_as(admin) == org_admin.pk
    # They may sign in again (and then see public pages only): the account is not locked.
    assert signed_in_as(sign_in(contractor_member)) == contractor_member.pk


def test_removing_one_of_two_memberships_keeps_sessions(contractor_member, org_admin, other_org):
    MembershipFactory(user=contractor_member, organisation=other_org)
    first = sign_in(contractor_member)
    admin = sign_in(org_admin)

    _remove(
        admin,
        contractor_member.memberships.get(organisation=org_admin.memberships.get().organisation),
    )

    assert signed_in_as(first) == contractor_member.pk


def test_remaining_membership_of_inactive_organisation_does_not_keep_sessions(
    contractor_member, org_admin
):
    closed = OrganisationFactory(is_active=False)
    MembershipFactory(user=contractor_member, organisation=closed)
    first = sign_in(contractor_member)

    _remove(sign_in(org_admin), contractor_member.memberships.exclude(organisation=closed).get())

    assert signed_in_as(first) is None


@pytest.mark.parametrize("who", ["secretariat", "committee_member", "superuser", "staff"])
def test_people_inside_without_membership_keep_sessions(who, request, contractor_org, org_admin):
    if who == "staff":
        person = UserFactory(is_staff=True)
    else:
        person = request.getfixturevalue(who)
    membership = MembershipFactory(user=person, organisation=contractor_org)
    browser = sign_in(person)

    _remove(sign_in(org_admin), membership)

    assert signed_in_as(browser) == person.pk


def test_org_admin_removing_own_last_membership_is_signed_out(org_admin, contractor_org):
    # Another admin, so the last-admin rule lets them leave.
    MembershipFactory(organisation=contractor_org, is_org_admin=True)
    admin = sign_in(org_admin)

    _remove(admin, org_admin.memberships.get())

    assert signed_in_as(admin) is None


def test_revoking_only_invitation_signs_out_who_claimed_it(org_admin, contractor_org):
    invitation = services.invite_member(
        organisation=contractor_org,
        email="mistyped@example.org",
        full_name="誤送 太郎",
        invited_by=org_admin,
    )
    # Whoever reads that mailbox set a password through password reset.
    person = User.objects.get(email="mistyped@example.org")
    person.set_password(PASSWORD)
    person.save()
    browser = sign_in(person)
    assert signed_in_as(browser) == person.pk

    admin = sign_in(org_admin)
    url = reverse(
        "network:invitation_revoke",
        kwargs={"pk": contractor_org.pk, "invitation_pk": invitation.pk},
    )
    assert admin.post(url).status_code == 302

    assert signed_in_as(browser) is None
    assert signed_in_as(admin) == org_admin.pk


def test_keeps_network_access_counts_admin_site_staff(contractor_org):
    """The named actors are in tests/test_network_access_rules.py; a staff
    account in no group stays inside too (it was the "staff" case above)."""
    assert access.keeps_network_access(UserFactory(is_staff=True)) is True
    assert access.keeps_network_access(UserFactory()) is False


def test_ending_sessions_changes_nothing_else(contractor_member):
    """end_sessions leaves the password alone: the person signs in as before."""
    browser = sign_in(contractor_member)
    contractor_member.end_sessions()
    contractor_member.end_sessions()
    assert contractor_member.session_epoch == 2
    assert signed_in_as(browser) is None
    assert signed_in_as(sign_in(contractor_member)) == contractor_member.pk


# --- (c) password change and reset -------------------------------------------------


@pytest.mark.parametrize("epoch", [0, 3])
def test_password_change_keeps_this_session_and_ends_the_others(contractor_member, epoch):
    User.objects.filter(pk=contractor_member.pk).update(session_epoch=epoch)
    here, elsewhere = sign_in(contractor_member), sign_in(contractor_member)

    response = here.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    contractor_member.refresh_from_db()
    assert contractor_member.check_password(NEW_PASSWORD)

    assert signed_in_as(here) == contractor_member.pk
    assert signed_in_as(elsewhere) is None


def _reset_link(message) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_password_reset_ends_every_session(contractor_member, mailoutbox):
    first, second = sign_in(contractor_member), sign_in(contractor_member)

    anonymous = Client()
    anonymous.post(reverse("account_reset_password"), {"email": contractor_member.email})
    assert len(mailoutbox) == 1
    form_page = anonymous.get(_reset_link(mailoutbox[0]), follow=True)
    done = anonymous.post(
        form_page.redirect_chain[-1][0],
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert done.status_code == 302
    contractor_member.refresh_from_db()
    assert contractor_member.check_password(NEW_PASSWORD)

    assert [signed_in_as(c) for c in (first, second)] == [None, None]
    # allauth does not sign the resetting browser in (ACCOUNT_LOGIN_ON_PASSWORD_RESET).
    assert signed_in_as(anonymous) is None
    assert signed_in_as(sign_in(contractor_member, NEW_PASSWORD)) == contractor_member.pk


# --- the staff's idle timeout ----------------------------------------------------------


def _idle(client, minutes):
    """Pretend the client's last stamped request was `minutes` ago."""
    session = client.session
    session[LAST_ACTIVITY_KEY] = int(time.time()) - minutes * 60
    session.save()


STAFF = ["secretariat", "committee_member", "superuser"]


@pytest.mark.parametrize("who", STAFF)
def test_staff_session_ends_after_idle_minutes(who, request, settings):
    settings.TSUNAGARI_STAFF_IDLE_MINUTES = 30
    person = request.getfixturevalue(who)
    browser = sign_in(person)
    assert signed_in_as(browser) == person.pk
    assert LAST_ACTIVITY_KEY in browser.session

    _idle(browser, 31)
    url = reverse("dashboard:home") if who != "superuser" else reverse("network:manage_home")
    response = browser.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={url}"
    assert "_auth_user_id" not in browser.session

    login_page = browser.get(response["Location"])
    assert "一定時間操作がなかったため、ログアウトしました。" in login_page.content.decode()
    # Signing in again works and is a fresh session.
    assert signed_in_as(sign_in(person)) == person.pk


def test_staff_session_within_idle_minutes_stays(secretariat, settings):
    settings.TSUNAGARI_STAFF_IDLE_MINUTES = 30
    browser = sign_in(secretariat)
    _idle(browser, 29)
    assert signed_in_as(browser) == secretariat.pk
    # That request counted as activity: the stamp moved to now.
    assert int(time.time()) - browser.session[LAST_ACTIVITY_KEY] < 5


def test_activity_is_written_at_most_once_a_minute(secretariat):
    browser = sign_in(secretariat)
    first = browser.get(reverse("network:manage_home"))
    stamp = browser.session[LAST_ACTIVITY_KEY]
    second = browser.get(reverse("network:manage_home"))
    assert first.status_code == second.status_code == 200
    # The second request, within the minute, left the session unwritten.
    assert second.wsgi_request.session.modified is False
    assert browser.session[LAST_ACTIVITY_KEY] == stamp

    _idle(browser, 2)
    idle_stamp = browser.session[LAST_ACTIVITY_KEY]
    third = browser.get(reverse("network:manage_home"))
    assert third.wsgi_request.session.modified is True
    assert browser.session[LAST_ACTIVITY_KEY] >= idle_stamp + 120


def test_member_sessions_have_no_idle_timeout(contractor_member, org_admin):
    for person in (contractor_member, org_admin):
        browser = sign_in(person)
        assert signed_in_as(browser) == person.pk
        assert LAST_ACTIVITY_KEY not in browser.session
        # Even a stale stamp (say, from a time they were staff) does nothing.
        _idle(browser, 600)
        assert signed_in_as(browser) == person.pk


def test_idle_timeout_zero_turns_it_off(secretariat, settings):
    settings.TSUNAGARI_STAFF_IDLE_MINUTES = 0
    browser = sign_in(secretariat)
    _idle(browser, 600)
    assert signed_in_as(browser) == secretariat.pk


def test_idle_minutes_setting_is_read_strictly(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from config.settings.base import env_count

    monkeypatch.setenv("TSUNAGARI_STAFF_IDLE_MINUTES", "15")
    assert env_count("TSUNAGARI_STAFF_IDLE_MINUTES", 30) == 15
    monkeypatch.setenv("TSUNAGARI_STAFF_IDLE_MINUTES", "half an hour")
    with pytest.raises(ImproperlyConfigured):
        env_count("TSUNAGARI_STAFF_IDLE_MINUTES", 30)
