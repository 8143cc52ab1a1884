"""Staff sessions end after a while without a request (docs/security.md §13).

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

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
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
