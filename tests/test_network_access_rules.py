"""Every rule of network/access.py as a unit: each named actor of DESIGN §4
(tests/conftest.py), in each state that changes the answer — an active or
inactive account, an active or inactive organisation, the last admin or not.

The views, forms and templates call these rules (tests/test_access_matrix.py
checks the pages); here the table of who gets what is the rule itself."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpResponse
from django.test import RequestFactory

from network import access

from .conftest import ACTOR_NAMES
from .factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

T, F = True, False

# Actor order: anonymous, outsider, 受託団体 member, 自治体 member, org admin,
# committee, secretariat, superuser.
USER_RULES = {
    "is_secretariat": [F, F, F, F, F, F, T, T],
    "is_committee": [F, F, F, F, F, T, F, F],
    "is_member": [F, F, T, T, T, T, T, T],
    "is_municipal_member": [F, F, F, T, F, T, T, T],
    "is_org_admin": [F, F, F, F, T, F, F, F],
    "can_view_dashboard": [F, F, F, F, F, T, T, T],
    "can_manage_network": [F, F, F, F, F, F, T, T],
    "can_change_privileges": [F, F, F, F, F, F, F, T],
    "can_use_admin_site": [F, F, F, F, F, F, F, T],
    # After a membership ended: still inside, or signed out everywhere (issue #15).
    "keeps_network_access": [F, F, T, T, T, T, T, T],
    # Staff sessions end when idle; members' do not.
    "has_idle_timeout": [F, F, F, F, F, T, T, T],
}
# The 受託団体 member and the org admin belong to the 受託団体: when it is
# made inactive they are no longer inside the network.
CONTRACTOR_ORG_INACTIVE = {
    "is_member": [F, F, F, T, F, T, T, T],
    "is_org_admin": [F] * 8,
    "keeps_network_access": [F, F, F, T, F, T, T, T],
}


@pytest.fixture
def actor(actors, contractor_org):
    """actor(name, state) -> the user, put in that state."""

    def make(name, state="active"):
        user = actors[name]
        if state == "inactive_user" and user is not None:
            user.is_active = False
            user.save(update_fields=["is_active"])
        if state == "inactive_org":
            contractor_org.is_active = False
            contractor_org.save(update_fields=["is_active"])
        if user is not None:
            access.forget_roles(user)
        return user if user is not None else AnonymousUser()

    return make


def expected(table: list[bool], name: str) -> bool:
    return table[ACTOR_NAMES.index(name)]


# --- rules about the user alone -------------------------------------------------------


@pytest.mark.parametrize("name", ACTOR_NAMES)
@pytest.mark.parametrize("rule", list(USER_RULES))
def test_user_rule_for_active_accounts(rule, name, actor):
    assert getattr(access, rule)(actor(name)) is expected(USER_RULES[rule], name)


@pytest.mark.parametrize("name", ACTOR_NAMES)
@pytest.mark.parametrize("rule", list(USER_RULES))
def test_user_rule_for_inactive_accounts_is_always_false(rule, name, actor):
    assert getattr(access, rule)(actor(name, "inactive_user")) is False


@pytest.mark.parametrize("name", ACTOR_NAMES)
@pytest.mark.parametrize("rule", list(USER_RULES))
def test_user_rule_when_the_contractor_organisation_is_inactive(rule, name, actor):
    table = CONTRACTOR_ORG_INACTIVE.get(rule, USER_RULES[rule])
    assert getattr(access, rule)(actor(name, "inactive_org")) is expected(table, name)


def test_roles_are_read_once_per_user_object(org_admin, django_assert_num_queries):
    with django_assert_num_queries(2):  # groups, memberships
        first = access.roles(org_admin)
    with django_assert_num_queries(0):
        assert access.roles(org_admin) is first
        assert access.is_org_admin(org_admin) is True
    access.forget_roles(org_admin)
    with django_assert_num_queries(2):
        access.roles(org_admin)


# --- rules about an organisation ----------------------------------------------------------

# Whose organisation: the org admin's own 受託団体, or another one none of the
# actors belongs to; active or not.
MANAGE_ORGANISATION = {
    ("own", "active"): [F, F, F, F, T, F, T, T],
    ("own", "inactive"): [F, F, F, F, F, F, T, T],
    ("other", "active"): [F, F, F, F, F, F, T, T],
    ("other", "inactive"): [F, F, F, F, F, F, T, T],
}
VIEW_ORGANISATION = {
    ("own", "active"): [F, F, T, T, T, T, T, T],
    # Their organisation inactive, its staff are outside the network.
    ("own", "inactive"): [F, F, F, F, F, F, T, T],
    ("other", "active"): [F, F, T, T, T, T, T, T],
    ("other", "inactive"): [F, F, F, F, F, F, T, T],
}
ORGANISATION_RULES = {
    "can_manage_organisation": MANAGE_ORGANISATION,
    "can_see_contact_details": MANAGE_ORGANISATION,
    "can_view_organisation": VIEW_ORGANISATION,
}


@pytest.fixture
def organisation(contractor_org, other_org):
    def make(whose, state):
        org = contractor_org if whose == "own" else other_org
        if state == "inactive":
            org.is_active = False
            org.save(update_fields=["is_active"])
        return org

    return make


@pytest.mark.parametrize("name", ACTOR_NAMES)
@pytest.mark.parametrize("case", list(MANAGE_ORGANISATION))
@pytest.mark.parametrize("rule", list(ORGANISATION_RULES))
def test_organisation_rule(rule, case, name, actor, organisation):
    org = organisation(*case)
    user = actor(name)
    assert getattr(access, rule)(user, org) is expected(ORGANISATION_RULES[rule][case], name)


@pytest.mark.parametrize("name", ACTOR_NAMES)
@pytest.mark.parametrize("rule", list(ORGANISATION_RULES))
def test_organisation_rule_for_inactive_accounts_is_always_false(
    rule, name, actor, contractor_org, other_org
):
    user = actor(name, "inactive_user")
    assert [getattr(access, rule)(user, org) for org in (contractor_org, other_org)] == [F, F]


# --- the last admin -----------------------------------------------------------------------

# Which membership of the org admin's 受託団体 is demoted or removed: the org
# admin's own while they are its only admin; the same with a second admin; a
# plain member's.
DEMOTE_OR_REMOVE = {
    "last_admin": [F, F, F, F, F, F, T, T],
    "admin_with_colleague": [F, F, F, F, T, F, T, T],
    "plain_member": [F, F, F, F, T, F, T, T],
}


@pytest.fixture
def membership(org_admin, contractor_member, contractor_org):
    def make(case):
        if case == "plain_member":
            return contractor_member.memberships.get()
        if case == "admin_with_colleague":
            MembershipFactory(organisation=contractor_org, is_org_admin=True)
        return org_admin.memberships.select_related("organisation").get()

    return make


@pytest.mark.parametrize("name", ACTOR_NAMES)
@pytest.mark.parametrize("case", list(DEMOTE_OR_REMOVE))
def test_can_demote_or_remove(case, name, actor, membership):
    target = membership(case)
    user = actor(name)
    assert access.can_demote_or_remove(user, target) is expected(DEMOTE_OR_REMOVE[case], name)


@pytest.mark.parametrize("name", ACTOR_NAMES)
def test_can_demote_or_remove_in_an_inactive_organisation(name, actor, membership):
    target = membership("admin_with_colleague")
    user = actor(name, "inactive_org")
    target.organisation.refresh_from_db()
    allowed = [F, F, F, F, F, F, T, T]
    assert access.can_demote_or_remove(user, target) is expected(allowed, name)


@pytest.mark.parametrize("name", ACTOR_NAMES)
def test_can_demote_or_remove_for_inactive_accounts_is_always_false(name, actor, membership):
    target = membership("plain_member")
    assert access.can_demote_or_remove(actor(name, "inactive_user"), target) is False


# --- accounts in the admin site -------------------------------------------------------------

EDIT_ACCOUNT = {
    "no_account_yet": [T, T, T, T, T, T, T, T],
    "plain_account": [T, T, T, T, T, T, T, T],
    "staff_account": [F, F, F, F, F, F, F, T],
    "superuser_account": [F, F, F, F, F, F, F, T],
}


@pytest.fixture
def account(db):
    def make(case):
        return {
            "no_account_yet": lambda: None,
            "plain_account": lambda: UserFactory(),
            "staff_account": lambda: UserFactory(is_staff=True),
            "superuser_account": lambda: UserFactory(is_staff=True, is_superuser=True),
        }[case]()

    return make


@pytest.mark.parametrize("name", ACTOR_NAMES)
@pytest.mark.parametrize("case", list(EDIT_ACCOUNT))
def test_can_edit_account(case, name, actor, account):
    target = account(case)
    user = actor(name)
    assert access.can_edit_account(user, target) is expected(EDIT_ACCOUNT[case], name)


@pytest.mark.parametrize("name", ACTOR_NAMES[1:])
def test_can_edit_account_own_staff_account(name, actor):
    user = actor(name)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    assert access.can_edit_account(user, user) is True


def test_can_edit_account_inactive_superuser_loses_the_privilege(actor, account):
    target = account("staff_account")
    assert access.can_edit_account(actor("superuser", "inactive_user"), target) is False


# --- the view decorators ----------------------------------------------------------------------

DECORATORS = {
    "member_required": USER_RULES["is_member"],
    "secretariat_required": USER_RULES["can_manage_network"],
    "dashboard_required": USER_RULES["can_view_dashboard"],
    "login_required_404": [F, T, T, T, T, T, T, T],
}


def _run(decorator, user):
    request = RequestFactory().get("/somewhere/?page=2")
    request.user = user
    return getattr(access, decorator)(lambda request: HttpResponse("中身"))(request)


@pytest.mark.parametrize("name", ACTOR_NAMES)
@pytest.mark.parametrize("decorator", list(DECORATORS))
def test_view_decorator(decorator, name, actor):
    user = actor(name)
    if name == "anonymous":
        response = _run(decorator, user)
        assert (response.status_code, response["Location"]) == (
            302,
            "/accounts/login/?next=/somewhere/%3Fpage%3D2",
        )
    elif expected(DECORATORS[decorator], name):
        assert _run(decorator, user).content.decode() == "中身"
    else:
        with pytest.raises(Http404):
            _run(decorator, user)


@pytest.mark.parametrize("name", ACTOR_NAMES[1:])
@pytest.mark.parametrize("decorator", ["member_required", "secretariat_required"])
def test_view_decorator_inactive_account_gets_404(decorator, name, actor):
    with pytest.raises(Http404):
        _run(decorator, actor(name, "inactive_user"))


def test_rules_cover_every_predicate_of_the_module():
    """A new rule in network/access.py needs its row here."""
    tested = set(USER_RULES) | set(ORGANISATION_RULES) | set(DECORATORS)
    tested |= {"can_demote_or_remove", "can_edit_account"}
    # Its table, per actor with the setting on and off: tests/test_mfa.py.
    tested |= {"requires_mfa"}
    helpers = {"roles", "forget_roles", "require"}
    defined_here = {
        name
        for name, value in vars(access).items()
        if callable(value)
        and not isinstance(value, type)
        and not name.startswith("_")
        and getattr(value, "__module__", "") == access.__name__
    }
    assert defined_here - helpers == tested
