"""Named actors of DESIGN §4, shared by every test.

Each actor is a real user with the memberships and groups that make the role;
`actors` maps the names used by the access matrix to them.
"""

import time

import pytest

from network import access
from network.middleware import LAST_ACTIVITY_KEY
from network.models import Organisation

from .factories import PASSWORD, MembershipFactory, OrganisationFactory, UserFactory


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Transactional tests flush the database when they finish, taking the
    migration-loaded reference data with them; put it back for the next one."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if transactional:
        from network import reference

        if marker is None:
            request.getfixturevalue("transactional_db")
        reference.ensure_loaded()


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def contractor_org(db):
    return OrganisationFactory(name="札幌生活サポートセンター", kind=Organisation.Kind.CONTRACTOR)


@pytest.fixture
def municipal_org(db):
    return OrganisationFactory(
        name="札幌市保健福祉局", kind=Organisation.Kind.MUNICIPALITY, kana="さっぽろし"
    )


@pytest.fixture
def other_org(db):
    """An organisation none of the actors belongs to."""
    return OrganisationFactory(name="函館くらし相談室", kind=Organisation.Kind.CONTRACTOR)


@pytest.fixture
def contractor_member(contractor_org):
    return MembershipFactory(
        organisation=contractor_org, user__email="npo@example.org", user__full_name="受託 花子"
    ).user


@pytest.fixture
def municipal_member(municipal_org):
    return MembershipFactory(
        organisation=municipal_org, user__email="city@example.org", user__full_name="市役 一郎"
    ).user


@pytest.fixture
def org_admin(contractor_org):
    return MembershipFactory(
        organisation=contractor_org,
        is_org_admin=True,
        user__email="npo-admin@example.org",
        user__full_name="管理 次郎",
    ).user


@pytest.fixture
def committee_member(db):
    return UserFactory(email="committee@example.org", full_name="委員 三郎", groups=["committee"])


@pytest.fixture
def secretariat(db):
    return UserFactory(
        email="secretariat@example.org", full_name="事務 四郎", groups=["secretariat"]
    )


@pytest.fixture
def superuser(db):
    return UserFactory(
        email="admin@example.org", full_name="管理者", is_staff=True, is_superuser=True
    )


@pytest.fixture
def outsider(db):
    """Logged in but belongs to no organisation and no group."""
    return UserFactory(email="outsider@example.org", full_name="外部 五郎")


ACTOR_NAMES = [
    "anonymous",
    "outsider",
    "contractor_member",
    "municipal_member",
    "org_admin",
    "committee",
    "secretariat",
    "superuser",
]


@pytest.fixture
def actors(
    outsider,
    contractor_member,
    municipal_member,
    org_admin,
    committee_member,
    secretariat,
    superuser,
):
    return {
        "anonymous": None,
        "outsider": outsider,
        "contractor_member": contractor_member,
        "municipal_member": municipal_member,
        "org_admin": org_admin,
        "committee": committee_member,
        "secretariat": secretariat,
        "superuser": superuser,
    }


@pytest.fixture
def client_for(client):
    """client_for(user) -> a test client logged in as that user (None = anonymous)."""

    def make(user):
        client.logout()
        if user is not None:
            client.force_login(user)
            _stamp_staff_login(client, user)
        return client

    return make


def _stamp_staff_login(client, user):
    """Leave the session as the login form does: a staff login starts its idle
    clock in the login's own session write (network.middleware.stamp_login),
    which force_login skips."""
    if access.has_idle_timeout(user):
        session = client.session
        session[LAST_ACTIVITY_KEY] = int(time.time())
        session.save()
    access.forget_roles(user)


def pytest_collection_modifyitems(items):
    """Every transactional test uses serialized rollback. A flush without it
    re-creates the content types with new ids, and the next serialized-rollback
    test then fails inserting them again (UNIQUE constraint on
    django_content_type) — far from the test that caused it."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if (
            marker
            and marker.kwargs.get("transaction")
            and not marker.kwargs.get("serialized_rollback")
        ):
            raise pytest.UsageError(
                f"{item.nodeid}: transactional tests need serialized_rollback=True"
            )
