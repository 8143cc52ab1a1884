"""Staff sessions end after a while without a request (docs/security.md §13),
and staff use a second factor where it is required (StaffMfaRequiredMiddleware).

The secretariat's, the committee's and superusers' sessions open everyone's
data, so an unattended browser must not stay signed in: after
settings.TSUNAGARI_STAFF_IDLE_MINUTES without a request the session is ended
and the login page says why. Members' sessions are not affected
(network.access.has_idle_timeout).

The time of the last request is kept in the session, rewritten at most once a
minute, so most requests write nothing; a session may therefore end up to a
minute early, never late.
"""

import time

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from . import access

LAST_ACTIVITY_KEY = "tsunagari_last_activity"
# Seconds between two writes of the stamp.
ACTIVITY_RESOLUTION = 60


class StaffIdleTimeoutMiddleware:
    """After AuthenticationMiddleware and MessageMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        signed_out = self.signed_out(request)
        if signed_out is not None:
            return signed_out
        was_anonymous = not request.user.is_authenticated
        response = self.get_response(request)
        if was_anonymous:
            # Signed in by this request (login form, invitation): stamp now,
            # while the session is being written anyway.
            stamp_login(request)
        return response

    def signed_out(self, request):
        minutes = settings.TSUNAGARI_STAFF_IDLE_MINUTES
        user = request.user
        if not minutes or not user.is_authenticated or not access.has_idle_timeout(user):
            return None
        now = int(time.time())
        last = request.session.get(LAST_ACTIVITY_KEY)
        if isinstance(last, int) and now - last > minutes * 60:
            logout(request)
            messages.info(request, _("一定時間操作がなかったため、ログアウトしました。"))
            return redirect_to_login(request.get_full_path())
        if not isinstance(last, int) or now - last >= ACTIVITY_RESOLUTION:
            request.session[LAST_ACTIVITY_KEY] = now
        return None


def stamp_login(request) -> None:
    """Start a staff session's idle clock (a no-op for anyone else)."""
    user = getattr(request, "user", None)
    if (
        settings.TSUNAGARI_STAFF_IDLE_MINUTES
        and user is not None
        and user.is_authenticated
        and access.has_idle_timeout(user)
    ):
        request.session[LAST_ACTIVITY_KEY] = int(time.time())


MFA_TOLD_KEY = "tsunagari_mfa_told"

# What a person who must set up a second factor can still reach: setting it
# up (and confirming their password for it), their recovery codes, signing
# in and out. Named by URL name, so a moved URL cannot open a hole.
MFA_SETUP_URL_NAMES = frozenset(
    {
        "mfa_index",
        "mfa_activate_totp",
        "mfa_authenticate",
        "mfa_reauthenticate",
        "mfa_view_recovery_codes",
        "mfa_download_recovery_codes",
        "account_reauthenticate",
        "account_login",
        "account_logout",
        "healthz",
    }
)


class StaffMfaRequiredMiddleware:
    """When settings.TSUNAGARI_MFA_REQUIRED is on, the staff
    (network.access.requires_mfa) use nothing until they have set up an
    authenticator app: every other page sends them to its set-up page.

    allauth's login asks everyone who has one for its code, so this only has
    to make sure the staff have one. Anyone else costs no query; the staff
    one per request (whether an authenticator exists). After
    AuthenticationMiddleware, MessageMiddleware and allauth's middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not access.requires_mfa(user):
            return None
        match = request.resolver_match
        if match is not None and match.url_name in MFA_SETUP_URL_NAMES:
            return None
        if is_mfa_enabled(user, [Authenticator.Type.TOTP]):
            return None
        if not request.session.get(MFA_TOLD_KEY):
            # Said once per session, not once per page tried on the way.
            request.session[MFA_TOLD_KEY] = True
            messages.warning(
                request,
                _(
                    "事務局・検討委員会・管理者の方は、2段階認証の設定が必要です。"
                    "スマートフォンの認証アプリで設定すると、ポータルを使えるようになります。"
                ),
            )
        return redirect("mfa_activate_totp")
