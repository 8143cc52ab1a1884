"""2段階認証: where it is required (production's default), a secretariat member
signs in, is sent to set up an authenticator app, confirms their password,
scans (here: reads) the key, mistypes the code and sees why, enters the right
one and is shown their recovery codes; the next sign-in asks for a code, and a
recovery code gets them in once. Real buttons, JavaScript on."""

from __future__ import annotations

import re

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

from ..factories import PASSWORD
from ..test_mfa import code_for

JOURNEY = "mfa"


def _sign_in(actor, email):
    actor.goto("/accounts/login/")
    actor.page.locator("input[name=login]").fill(email)
    actor.page.locator("input[name=password]").fill(PASSWORD)
    actor.submit(actor.page.locator("main").get_by_role("button", name="ログイン"))


def test_journey_mfa_set_up_and_sign_in(open_anonymous, secretariat, settings):
    settings.TSUNAGARI_MFA_REQUIRED = True

    office = open_anonymous()
    _sign_in(office, secretariat.email)
    # Sent to set up; the set-up first asks for the password once more.
    assert office.path().startswith("/accounts/reauthenticate/")
    assert "2段階認証の設定が必要です" in office.page.locator("body").inner_text()
    office.shot("confirm-password")
    office.page.locator("input[name=password]").fill(PASSWORD)
    office.submit(office.button("確認する"))
    assert office.path() == "/accounts/2fa/totp/activate/"
    assert office.page.get_by_role("img", name="ポータル用の認証アプリ設定QRコード").is_visible()
    office.shot("activate")
    secret = office.page.locator("#authenticator-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)

    office.page.get_by_label("認証アプリコード").fill("000000")
    office.submit(office.button("設定する"))
    assert "コードが正しくありません" in office.main_text()
    assert not Authenticator.objects.filter(user=secretariat).exists()

    office.page.get_by_label("認証アプリコード").fill(code_for(secret))
    office.submit(office.button("設定する"))
    assert office.path() == "/accounts/2fa/recovery-codes/"
    shown = office.page.locator(".recovery-codes code").all_inner_texts()
    recovery = Authenticator.objects.get(user=secretariat, type=Authenticator.Type.RECOVERY_CODES)
    assert sorted(shown) == sorted(RecoveryCodes(recovery).get_unused_codes())
    assert len(shown) == 10
    office.shot("recovery-codes")
    office.submit(office.page.get_by_role("link", name="保管しました。ホームへ"))
    assert office.path() == "/"

    # The next sign-in, on another browser: password, then a code; here the
    # device is "lost", so a recovery code.
    again = open_anonymous()
    _sign_in(again, secretariat.email)
    assert again.path() == "/accounts/2fa/authenticate/"
    again.shot("code")
    again.page.locator("input[name=code]").fill(shown[0])
    again.submit(again.button("ログイン"))
    assert again.path() == "/"
    assert (
        secretariat.full_name in again.page.locator("header").text_content()
    )  # menu may be folded
    recovery.refresh_from_db()
    assert shown[0] not in RecoveryCodes(recovery).get_unused_codes()
