"""Accounts through allauth: e-mail login, no sign-up, password reset, rate limits."""

import re

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from network.models import User

from .factories import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Otaru-canal-lights-77"


def test_signup_closed_shows_message_not_form(client):
    for method in (client.get, client.post):
        response = method(
            reverse("account_signup"),
            {"email": "walk-in@example.org", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )
        content = response.content.decode()
        assert response.status_code == 200
        assert "新規登録は受け付けていません" in content
        assert 'name="password1"' not in content
        assert reverse("network:join_request") in content
    assert not User.objects.filter(email="walk-in@example.org").exists()


def test_login_page_explains_invitations_and_links_reset_and_join(client):
    content = client.get(reverse("account_login")).content.decode()
    assert "ログイン" in content
    assert "パスワードをお忘れの方" in content
    assert reverse("account_reset_password") in content
    assert "招待制" in content
    assert reverse("network:join_request") in content
    assert 'name="login"' in content
    assert 'type="email"' in content
    # Laid out by the site's base template, not allauth's bare one.
    assert "site-header" in content


def test_login_with_email_is_case_insensitive(client, contractor_member):
    response = client.post(
        reverse("account_login"), {"login": "NPO@Example.ORG", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.session["_auth_user_id"] == str(contractor_member.pk)


def test_login_wrong_password_shows_japanese_error(client, contractor_member):
    response = client.post(
        reverse("account_login"), {"login": contractor_member.email, "password": "wrong"}
    )
    assert response.status_code == 200
    assert "メールアドレスもしくはパスワードが正しくありません" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_contact_without_password_cannot_log_in(client):
    User.objects.create_contact("contact@example.org", full_name="名簿 八郎")
    response = client.post(
        reverse("account_login"), {"login": "contact@example.org", "password": ""}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_logout_page_and_post_log_out(client_for, contractor_member):
    client = client_for(contractor_member)
    page = client.get(reverse("account_logout"))
    assert "ログアウトしますか" in page.content.decode()
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def _reset_link(message) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_password_reset_lets_contact_claim_account(client, mailoutbox):
    contact = User.objects.create_contact("Contact@example.org", full_name="名簿 八郎")
    page = client.get(reverse("account_reset_password")).content.decode()
    assert "まだパスワードをお持ちでない方" in page

    response = client.post(reverse("account_reset_password"), {"email": "CONTACT@example.org"})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["contact@example.org"]
    assert "名簿 八郎 様" in message.body

    form_page = client.get(_reset_link(message), follow=True)
    assert "新しいパスワードの設定" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else _reset_link(message),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        follow=True,
    )
    assert "パスワードを設定しました" in done.content.decode()
    contact.refresh_from_db()
    assert not contact.is_contact
    assert contact.check_password(NEW_PASSWORD)

    client.logout()
    login = client.post(
        reverse("account_login"), {"login": "contact@example.org", "password": NEW_PASSWORD}
    )
    assert login.status_code == 302
    assert client.session["_auth_user_id"] == str(contact.pk)


def test_password_reset_unknown_email_sends_nothing(client, mailoutbox):
    response = client.post(reverse("account_reset_password"), {"email": "nobody@example.org"})
    # Same answer as for a known address: nothing reveals who has an account;
    # and no mail, so the form cannot be used to mail any address
    # (ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS; tests/test_accounts_enumeration.py).
    assert response.status_code == 302
    assert mailoutbox == []


def test_password_change_page_uses_site_layout(client_for, contractor_member):
    content = client_for(contractor_member).get(reverse("account_change_password")).content.decode()
    assert "パスワード変更" in content
    assert 'name="oldpassword"' in content
    assert "site-header" in content


@override_settings(
    ACCOUNT_RATE_LIMITS={"login_failed": "3/5m/ip"},
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "tsunagari-rate-limit-test",
        }
    },
)
def test_login_rate_limit_blocks_fourth_failed_attempt(client, contractor_member):
    cache.clear()
    url = reverse("account_login")
    for _attempt in range(3):
        response = client.post(url, {"login": contractor_member.email, "password": "wrong"})
        assert "メールアドレスもしくはパスワードが正しくありません" in response.content.decode()

    # allauth answers the blocked attempt with a form error, even for the
    # right password, so guessing cannot continue.
    response = client.post(url, {"login": contractor_member.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "ログイン失敗が連続しています" in response.content.decode()
    assert "_auth_user_id" not in client.session
    cache.clear()
