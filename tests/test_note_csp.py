"""Every note page is served under the strict Content-Security-Policy with no
inline script or style (tests/test_csp.py's check), as the secretariat (who
sees every room and action) and as the 受託団体 member (an author)."""

import pytest
from django.urls import reverse

from tests.test_csp import assert_under_policy
from tests.test_note_access import MATRIX, _targets, people, world  # noqa: F401

pytestmark = pytest.mark.django_db

PAGES = sorted({(name, target) for name, target, _expected in MATRIX}, key=str)


@pytest.mark.parametrize("url_name,target", PAGES, ids=[f"{n}[{t or '-'}]" for n, t in PAGES])
def test_note_csp_every_page_is_served_under_the_strict_policy(
    url_name,
    target,
    world,  # noqa: F811 (the fixture imported above)
    people,  # noqa: F811
    client_for,
):
    url = reverse(url_name, kwargs=_targets(world)[target])
    for actor in ("secretariat", "contractor_member"):
        response = client_for(people[actor]).get(url)

        assert_under_policy(response, f"{url} as {actor}")
