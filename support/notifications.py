"""The e-mails of the back-up menus: what each says, and under which outbox key.

- every status change of an application (its ApplicationUpdate row) goes to
  the applicant and the contact address, once: the key names the update;
- a new application goes to each of the secretariat's staff;
- an assignment goes to the partner organisation's recipients (its admins,
  else its address, else its staff — surveys.notifications.organisation_recipients).

No mail carries the session records or the outcome report.
Templates: templates/support/emails/<name>_subject.txt and <name>.txt.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from core.outbox import queue_message
from network.models import User
from surveys.notifications import organisation_recipients

_BLANK_RUNS = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")
PREFIX = "support"


def absolute(path: str) -> str:
    return settings.SITE_URL + path


def _render(name: str, context: dict) -> tuple[str, str]:
    # A worker has no request that would activate a language.
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"support/emails/{name}_subject.txt", context)
        body = render_to_string(f"support/emails/{name}.txt", context)
    body = _BLANK_RUNS.sub("\n\n", body.strip())
    return " ".join(subject.split()), body + "\n"


def _addresses(application) -> list[str]:
    addresses = []
    for address in (application.contact_email, getattr(application.applicant, "email", "")):
        if address and address.lower() not in {a.lower() for a in addresses}:
            addresses.append(address)
    return addresses


def status_key(update_id: int, index: int) -> str:
    return f"{PREFIX}:status:{update_id}:{index}"


def status_changed(update) -> int:
    """Tell the applicant what became of the application; returns mails queued."""
    application = update.application
    subject, body = _render(
        "status",
        {
            "application": application,
            "menu": application.menu,
            "status": update.new_status_label(),
            "reason": application.status_reason if application.shows_reason() else "",
            "url": absolute(application.get_absolute_url()),
            "site_url": settings.SITE_URL,
        },
    )
    queued = 0
    for index, address in enumerate(_addresses(application)):
        queued += bool(
            queue_message(
                key=status_key(update.pk, index),
                kind="support.status",
                to_email=address,
                subject=subject,
                body=body,
            )
        )
    return queued


def new_application(application) -> int:
    """Tell each of the secretariat's staff that an application waits."""
    subject, body = _render(
        "new_application",
        {
            "application": application,
            "menu": application.menu,
            "url": absolute(reverse("support:manage_application", args=[application.pk])),
            "site_url": settings.SITE_URL,
        },
    )
    queued = 0
    for user_id, address in (
        User.objects.secretariat_staff().exclude(email="").values_list("pk", "email")
    ):
        queued += bool(
            queue_message(
                key=f"{PREFIX}:new:{application.pk}:{user_id}",
                kind="support.new_application",
                to_email=address,
                subject=subject,
                body=body,
            )
        )
    return queued


def partner_assigned(engagement) -> int:
    """Tell the partner organisation that an engagement is theirs."""
    application = engagement.application
    subject, body = _render(
        "partner_assigned",
        {
            "application": application,
            "menu": application.menu,
            "partner": engagement.partner,
            "url": absolute(engagement.get_absolute_url()),
            "site_url": settings.SITE_URL,
        },
    )
    queued = 0
    for index, address in enumerate(organisation_recipients(engagement.partner)):
        queued += bool(
            queue_message(
                key=f"{PREFIX}:partner:{engagement.pk}:{index}",
                kind="support.partner_assigned",
                to_email=address,
                subject=subject,
                body=body,
            )
        )
    return queued
