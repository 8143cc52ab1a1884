"""Error views the project needs beyond Django's defaults.

Django's own handlers already render templates/404.html, 403.html, 400.html
and 500.html; only the CSRF failure page needs a view of ours, named by
CSRF_FAILURE_VIEW.
"""

from django.http import HttpRequest, HttpResponseForbidden
from django.template import loader


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponseForbidden:
    """A form sent from a page whose CSRF token no longer holds (left open too
    long, or a login in another tab): tell the person, in Japanese, to reload
    and send again. The reason is already logged by CsrfViewMiddleware
    (django.security.csrf) and is not for the visitor."""
    template = loader.get_template("403_csrf.html")
    return HttpResponseForbidden(template.render(request=request))
