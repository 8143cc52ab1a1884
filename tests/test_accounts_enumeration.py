"""Nothing a visitor sees tells whether an address has an account (issue #15,
docs/security.md §13): login, password reset and the join request answer an
unknown address exactly as a known one, and a reset mails only real accounts."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from network.models import JoinRequest, User

from .factories import PASSWORD, UserFactory
from .test_joining import join_form

pytestmark = pytest.mark.django_db

UNKNOWN = "nobody-here@example.org"


def _page(response, email) -> str:
    """The page as a visitor reads it, minus what differs on every render (the
    CSRF token) and the address they typed themselves."""
    text = response.content.decode()
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", text)
    return text.replace(email, "EMAIL")


def _answer(email, *, url, data):
    """Status, redirect and page of one anonymous POST (followed to its end)."""
    client = Client()
    response = client.post(url, data)
    location = response.get("Location")
    page = client.get(location) if location else response
    return response.status_code, location, _page(page, email)


@pytest.fixture
def accounts(contractor_member):
    inactive = UserFactory(email="left@example.org", is_active=False)
    contact = User.objects.create_contact("contact@example.org", full_name="名簿 八郎")
    return {"member": contractor_member, "inactive": inactive, "contact": contact}


# --- login ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["member", "inactive", "contact"])
def test_login_failure_is_the_same_for_unknown_and_known_addresses(accounts, who):
    email = accounts[who].email

    def attempt(address):
        return _answer(
            address,
            url=reverse("account_login"),
            data={"login": address, "password": "not-the-password"},
        )

    known, unknown = attempt(email), attempt(UNKNOWN)
    assert known == unknown
    status, location, page = known
    assert (status, location) == (200, None)
    assert "メールアドレスもしくはパスワードが正しくありません" in page


# --- password reset ----------------------------------------------------------------


def _reset(address):
    return _answer(address, url=reverse("account_reset_password"), data={"email": address})


@pytest.mark.parametrize("who", ["member", "inactive", "contact"])
def test_password_reset_answers_alike_for_unknown_and_known(accounts, who, mailoutbox):
    known, unknown = _reset(accounts[who].email), _reset(UNKNOWN)
    assert known == unknown
    status, location, page = known
    assert (status, location) == (302, reverse("account_reset_password_done"))
    assert "入力されたメールアドレスが登録されていれば" in page


def test_password_reset_mails_only_active_accounts(accounts, mailoutbox):
    _reset(UNKNOWN)
    _reset("NOBODY-HERE@Example.org")
    _reset(accounts["inactive"].email)
    assert mailoutbox == []

    _reset(accounts["member"].email)
    _reset(accounts["contact"].email)  # a contact claims the account this way
    assert sorted(m.to[0] for m in mailoutbox) == ["contact@example.org", "npo@example.org"]
    assert all("/accounts/password/reset/key/" in m.body for m in mailoutbox)


def test_password_reset_known_address_in_other_case_answers_alike(accounts, mailoutbox):
    assert _reset("NPO@Example.ORG")[:2] == _reset(UNKNOWN)[:2]
    assert [m.to for m in mailoutbox] == [["npo@example.org"]]


# --- the join request --------------------------------------------------------------


@pytest.mark.parametrize("who", ["member", "inactive", "contact"])
def test_join_request_answers_alike_for_unknown_and_known_contact(accounts, who):
    email = accounts[who].email
    known = _answer(email, url=reverse("network:join_request"), data=join_form(contact_email=email))
    unknown = _answer(
        UNKNOWN, url=reverse("network:join_request"), data=join_form(contact_email=UNKNOWN)
    )
    assert known == unknown
    status, location, _page_text = known
    assert (status, location) == (302, reverse("network:join_request_done"))
    # Both were stored for the secretariat, who sees the match when reviewing.
    assert set(JoinRequest.objects.values_list("contact_email", flat=True)) == {email, UNKNOWN}


# --- invitation links ------------------------------------------------------------------


def test_invitation_link_never_takes_an_address(client):
    """An invitation link is a token, not an address: an unknown token is 404
    whatever it looks like, so nothing can be asked about an address there."""
    for token in (UNKNOWN, "npo@example.org", "x" * 43):
        response = client.get(reverse("network:accept_invitation", args=[token]))
        assert response.status_code == 404


def test_login_success_still_works(contractor_member):
    client = Client()
    response = client.post(
        reverse("account_login"), {"login": contractor_member.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(contractor_member.pk)
