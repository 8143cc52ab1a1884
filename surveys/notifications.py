"""The e-mails of the surveys app: what each says, to whom, under which outbox key.

Each message is a pair of templates under templates/surveys/emails/
(`<name>_subject.txt`, `<name>.txt`) rendered in Japanese and recorded through
core.outbox.queue_message, so the same occasion never mails twice:

- invitation: "survey:<survey id>:invite:<invitation id>";
- reminder: "survey:<survey id>:remind:<invitation id>:<YYYY-MM-DD>" — the
  Asia/Tokyo date, so an invitation is reminded at most once a day however
  often the sweep or the secretariat's button runs.

An organisation's invitation goes to all its admins (else its representative
address, else its members): the first address under the key above, the others
under the same key plus ":2", ":3"….
"""

from __future__ import annotations

import datetime
import re

from django.conf import settings
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.template.loader import render_to_string
from django.utils import timezone, translation

from core.models import OutboxMessage
from core.outbox import queue_message
from core.templatetags.wareki import jdate
from network.models import Membership, Organisation

from .models import Invitation

_BLANK_RUNS = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")


def invite_key(invitation: Invitation) -> str:
    return f"survey:{invitation.survey_id}:invite:{invitation.pk}"


def remind_key(invitation: Invitation, day: datetime.date) -> str:
    return f"survey:{invitation.survey_id}:remind:{invitation.pk}:{day.isoformat()}"


def reminder_history(survey, days: int = 5) -> list[dict]:
    """The last days reminders went out, with how many invitations each
    ({"day", "count"}, newest first), read from the outbox keys: one per
    invitation and day; extra recipients of an organisation carry a suffix
    and are not counted."""
    return list(
        OutboxMessage.objects.filter(
            key__startswith=f"survey:{survey.pk}:remind:",
            key__regex=r":[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        )
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(count=Count("pk"))
        .order_by("-day")[:days]
    )


def organisation_recipients(organisation: Organisation) -> list[str]:
    """Who receives an organisation's invitation: its admin(s), else its
    representative address, else its members."""
    members = list(
        Membership.objects.filter(organisation=organisation, user__is_active=True)
        .order_by("-is_org_admin", "user_id")
        .values_list("user__email", "is_org_admin")
    )
    admins = [address for address, is_admin in members if is_admin]
    if admins:
        return admins
    if organisation.email:
        return [organisation.email]
    return [address for address, _admin in members]


def _recipients(invitation: Invitation) -> list[str]:
    """The invitation's address first; for an organisation, its other admins too."""
    addresses = [invitation.email]
    if invitation.user_id is None and invitation.organisation_id:
        for address in organisation_recipients(invitation.organisation):
            if address not in addresses:
                addresses.append(address)
    return addresses


def _render(name: str, context: dict) -> tuple[str, str]:
    # A worker has no request that would activate a language.
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"surveys/emails/{name}_subject.txt", context)
        body = render_to_string(f"surveys/emails/{name}.txt", context)
    # Template tags leave blank lines behind; a mail reads better without runs of them.
    body = _BLANK_RUNS.sub("\n\n", body.strip())
    return " ".join(subject.split()), body + "\n"


def _queue(name: str, key: str, invitation: Invitation, link: str) -> bool:
    """Queue the mail to every recipient; returns whether the main message was new."""
    survey = invitation.survey
    context = {
        "survey": survey,
        "invitation": invitation,
        "user": invitation.user,
        "organisation": invitation.organisation,
        "closes_on": jdate(survey.closes_at),
        "closes_time": timezone.localtime(survey.closes_at).strftime("%H:%M"),
        "opens_later": survey.opens_at > timezone.now(),
        "opens_on": jdate(survey.opens_at),
        "opens_time": timezone.localtime(survey.opens_at).strftime("%H:%M"),
        "link": link,
        "site_url": settings.SITE_URL,
    }
    subject, body = _render(name, context)
    queued = False
    for number, address in enumerate(_recipients(invitation)):
        message = queue_message(
            key=key if number == 0 else f"{key}:{number + 1}",
            kind=f"surveys.{name}",
            to_email=address,
            subject=subject,
            body=body,
        )
        if number == 0:
            queued = message is not None
    return queued


def invite(invitation: Invitation, link: str) -> bool:
    return _queue("invite", invite_key(invitation), invitation, link)


def remind(invitation: Invitation, link: str, day: datetime.date) -> bool:
    return _queue("remind", remind_key(invitation, day), invitation, link)
