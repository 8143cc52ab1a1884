"""When a person's sessions end (issue #15, docs/security.md §13).

Every test signs in through the real login form, with separate clients as
separate browsers (separate sessions), makes the change, and then looks at
the next request of each client.
"""

import csv
import io
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


# --- (b2) memberships taken away elsewhere: the admin site, imports -------------------


def _with_other_active_membership(organisation, other_org):
    """A colleague in `organisation` who also belongs to another active one."""
    person = MembershipFactory(organisation=organisation).user
    MembershipFactory(user=person, organisation=other_org)
    return person


def test_deleting_last_membership_in_admin_signs_member_out(contractor_member, superuser):
    membership = contractor_member.memberships.get()
    first, second = sign_in(contractor_member), sign_in(contractor_member)
    admin = sign_in(superuser)

    url = reverse("admin:network_membership_delete", args=[membership.pk])
    assert admin.get(url).status_code == 200
    assert admin.post(url, {"post": "yes"}).status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()

    assert [signed_in_as(c) for c in (first, second)] == [None, None]
    assert signed_in_as(admin) == superuser.pk


def test_deleting_one_of_two_memberships_in_admin_keeps_sessions(
    contractor_member, superuser, other_org
):
    MembershipFactory(user=contractor_member, organisation=other_org)
    browser = sign_in(contractor_member)
    admin = sign_in(superuser)

    membership = contractor_member.memberships.exclude(organisation=other_org).get()
    url = reverse("admin:network_membership_delete", args=[membership.pk])
    assert admin.post(url, {"post": "yes"}).status_code == 302

    assert signed_in_as(browser) == contractor_member.pk


def test_bulk_deleting_memberships_in_admin_signs_out_those_left_outside(
    contractor_member, contractor_org, other_org, superuser, committee_member
):
    colleague = _with_other_active_membership(contractor_org, other_org)
    MembershipFactory(user=committee_member, organisation=contractor_org)
    MembershipFactory(user=superuser, organisation=contractor_org)
    people = [contractor_member, colleague, committee_member, superuser]
    browsers = [sign_in(person) for person in people]
    admin = browsers[-1]  # the superuser deletes their own membership too

    selected = contractor_org.memberships.values_list("pk", flat=True)
    response = admin.post(
        reverse("admin:network_membership_changelist"),
        {"action": "delete_selected", "_selected_action": list(selected), "post": "yes"},
    )
    assert response.status_code == 302
    assert not contractor_org.memberships.exists()

    assert [signed_in_as(c) for c in browsers] == [
        None,
        colleague.pk,
        committee_member.pk,
        superuser.pk,
    ]


def test_deleting_membership_on_persons_admin_page_signs_them_out(contractor_member, superuser):
    from .test_security_admin import change_form_data

    browser = sign_in(contractor_member)
    admin = sign_in(superuser)
    url = reverse("admin:network_user_change", args=[contractor_member.pk])
    data = change_form_data(admin, url)
    (delete_box,) = [k for k in data if k.startswith("memberships-0-") and k.endswith("-id")]
    data[delete_box.replace("-id", "-DELETE")] = "on"
    response = admin.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert not contractor_member.memberships.exists()

    assert signed_in_as(browser) is None
    assert signed_in_as(admin) == superuser.pk


def test_moving_membership_to_another_person_in_admin_signs_out_the_first(
    contractor_member, superuser
):
    from .test_security_admin import change_form_data

    browser = sign_in(contractor_member)
    admin = sign_in(superuser)
    membership = contractor_member.memberships.get()
    url = reverse("admin:network_membership_change", args=[membership.pk])
    data = change_form_data(admin, url)
    data["user"] = UserFactory().pk  # a mistyped person corrected
    assert admin.post(url, data).status_code == 302

    assert signed_in_as(browser) is None


def _deactivate_in_admin(client, organisation, *, active=False):
    from .test_security_admin import change_form_data

    url = reverse("admin:network_organisation_change", args=[organisation.pk])
    data = change_form_data(client, url)
    if active:
        data["is_active"] = "on"
    else:
        data.pop("is_active", None)  # the box unticked
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    organisation.refresh_from_db()
    assert organisation.is_active is active


@pytest.mark.parametrize("by", ["superuser", "secretariat"])
def test_deactivating_organisation_in_admin_signs_out_members_left_outside(
    by, request, contractor_org, other_org, contractor_member, org_admin, committee_member
):
    actor = request.getfixturevalue(by)
    if by == "secretariat":
        # Through the admin with the group's named permissions (it may change
        # organisations, network.permissions): staff status opens the site.
        User.objects.filter(pk=actor.pk).update(is_staff=True)
    colleague = _with_other_active_membership(contractor_org, other_org)
    MembershipFactory(user=committee_member, organisation=contractor_org)
    MembershipFactory(user=actor, organisation=contractor_org)
    people = [contractor_member, org_admin, colleague, committee_member]
    browsers = [sign_in(person) for person in people]
    staff = sign_in(actor)

    _deactivate_in_admin(staff, contractor_org)

    assert [signed_in_as(c) for c in browsers] == [None, None, colleague.pk, committee_member.pk]
    assert signed_in_as(staff) == actor.pk

    # Re-activating the organisation does not revive the old sessions.
    _deactivate_in_admin(staff, contractor_org, active=True)
    assert [signed_in_as(c) for c in browsers[:2]] == [None, None]
    assert signed_in_as(sign_in(contractor_member)) == contractor_member.pk


def test_editing_active_organisation_in_admin_keeps_sessions(contractor_member, superuser):
    from .test_security_admin import change_form_data

    browser = sign_in(contractor_member)
    admin = sign_in(superuser)
    organisation = contractor_member.memberships.get().organisation
    url = reverse("admin:network_organisation_change", args=[organisation.pk])
    data = change_form_data(admin, url)
    data["phone"] = "011-222-3333"
    assert admin.post(url, data).status_code == 302

    assert signed_in_as(browser) == contractor_member.pk


def test_deleting_organisation_in_admin_signs_out_its_members(
    contractor_member, contractor_org, other_org, superuser
):
    colleague = _with_other_active_membership(contractor_org, other_org)
    browsers = [sign_in(contractor_member), sign_in(colleague)]
    admin = sign_in(superuser)

    url = reverse("admin:network_organisation_delete", args=[contractor_org.pk])
    assert admin.post(url, {"post": "yes"}).status_code == 302

    assert [signed_in_as(c) for c in browsers] == [None, colleague.pk]


def test_secretariat_deactivating_organisation_in_portal_signs_out_members(
    contractor_member, contractor_org, other_org, secretariat
):
    from .test_security_admin import _put

    colleague = _with_other_active_membership(contractor_org, other_org)
    browsers = [sign_in(contractor_member), sign_in(colleague)]
    staff = sign_in(secretariat)

    url = reverse("network:organisation_edit", kwargs={"pk": contractor_org.pk})
    form = staff.get(url).context["form"]
    data = {}
    for name, field in form.fields.items():
        _put(data, name, field, form[name].value())
    data.pop("is_active", None)
    assert staff.post(url, data).status_code == 302
    contractor_org.refresh_from_db()
    assert not contractor_org.is_active

    assert [signed_in_as(c) for c in browsers] == [None, colleague.pk]
    assert signed_in_as(staff) == secretariat.pk


def test_organisation_import_that_deactivates_signs_out_members(contractor_member, contractor_org):
    from core.importing import CSV, import_errors
    from network.resources import OrganisationResource

    browser = sign_in(contractor_member)
    # The export, edited: the 有効 column set to 無効, imported back.
    exported = CSV().export_data(OrganisationResource().export()).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(exported)))
    at = rows[0].index("有効")
    for row in rows[1:]:
        row[at] = "無効"
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    text = out.getvalue()

    # The preview (a dry run) rolls back with the rest of it.
    preview = OrganisationResource().import_data(CSV().create_dataset(text), dry_run=True)
    assert import_errors(preview) == []
    assert signed_in_as(browser) == contractor_member.pk

    result = OrganisationResource().import_data(CSV().create_dataset(text), dry_run=False)
    assert import_errors(result) == []
    contractor_org.refresh_from_db()
    assert not contractor_org.is_active
    assert signed_in_as(browser) is None


def test_membership_import_never_deletes(contractor_member, contractor_org):
    """The membership import adds and updates rows only (import-export deletes
    only through a resource's for_delete, which MembershipResource leaves off):
    a row left out of the file, or marked "delete", keeps its membership and
    its sessions."""
    from core.importing import CSV, import_errors
    from network.resources import MembershipResource

    browser = sign_in(contractor_member)
    other = MembershipFactory(organisation=contractor_org).user
    membership = contractor_member.memberships.get()
    text = f"メールアドレス,組織ID,delete\n{contractor_member.email},{contractor_org.pk},1\n"
    dataset = CSV().create_dataset(text)
    resource = MembershipResource()
    assert resource.for_delete(dataset.dict[0], membership) is False

    result = resource.import_data(dataset, dry_run=False)

    assert import_errors(result) == []
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert other.memberships.exists()  # left out of the file
    assert signed_in_as(browser) == contractor_member.pk


# --- the service itself: the rule, and a fixed number of queries --------------------------


@pytest.mark.parametrize("state", ["active", "inactive_org", "inactive_user"])
def test_ending_sessions_in_bulk_follows_keeps_network_access(state, actors, contractor_org):
    """services.end_sessions_of_those_left_outside is keeps_network_access as one
    UPDATE: it signs out exactly whom the rule leaves outside, in each state."""
    people = [user for user in actors.values() if user is not None]
    if state == "inactive_org":
        contractor_org.is_active = False
        contractor_org.save(update_fields=["is_active"])
    if state == "inactive_user":
        User.objects.filter(pk__in=[p.pk for p in people]).update(is_active=False)
    for person in people:
        person.refresh_from_db()
    outside = {p.pk for p in people if not access.keeps_network_access(p)}

    ended = services.end_sessions_of_those_left_outside(user_ids=[p.pk for p in people])

    epochs = dict(
        User.objects.filter(pk__in=[p.pk for p in people]).values_list("pk", "session_epoch")
    )
    assert {pk for pk, epoch in epochs.items() if epoch} == outside
    assert ended == len(outside)


@pytest.mark.parametrize("size", [1, 6])
def test_ending_sessions_in_bulk_is_one_query(size, django_assert_num_queries, other_org):
    inside = [MembershipFactory(organisation=other_org).user for _ in range(size)]
    outside = [UserFactory() for _ in range(size)]
    ids = [u.pk for u in inside + outside]

    with django_assert_num_queries(1):
        assert services.end_sessions_of_those_left_outside(user_ids=ids) == size
    # Again, for an organisation's members passed as a subquery: still one.
    with django_assert_num_queries(1):
        assert (
            services.end_sessions_of_those_left_outside(
                user_ids=User.objects.filter(pk__in=ids).values("pk")
            )
            == size
        )
    with django_assert_num_queries(0):
        assert services.end_sessions_of_those_left_outside(user_ids=[]) == 0

    epochs = dict(User.objects.filter(pk__in=ids).values_list("pk", "session_epoch"))
    assert [epochs[u.pk] for u in inside] == [0] * size
    assert [epochs[u.pk] for u in outside] == [2] * size


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
