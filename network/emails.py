"""Rendering and sending the network app's e-mails.

Each e-mail is a pair of templates under templates/network/emails/:
`<name>_subject.txt` and `<name>.txt`. Tasks call these helpers; views never
send mail themselves (they queue a task on commit).
"""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation


def absolute_url(viewname: str, *args) -> str:
    """Links in e-mails must be absolute and must not depend on a request:
    tasks run in a worker that has none."""
    return settings.SITE_URL + reverse(viewname, args=args)


def send_templated_mail(
    name: str, context: dict, to: list[str], reply_to: list[str] | None = None
) -> int:
    # A worker process has no request that would activate a language, so
    # render in the site's language explicitly.
    with translation.override(settings.LANGUAGE_CODE):
        context = {"site_url": settings.SITE_URL, **context}
        subject = render_to_string(f"network/emails/{name}_subject.txt", context)
        body = render_to_string(f"network/emails/{name}.txt", context)
    # A header cannot span lines; templates may end with a newline.
    subject = " ".join(subject.split())
    message = EmailMessage(subject=subject, body=body, to=to, reply_to=reply_to or None)
    return message.send()
