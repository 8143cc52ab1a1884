"""The e-mails of the directory: what each says, and under which outbox key.

Templates: templates/directory/emails/<name>_subject.txt and <name>.txt,
rendered in Japanese and recorded through core.outbox.queue_message inside
the caller's transaction (delivery is queued on commit).

The keys of the freshness requests (directory.freshness.notify_stale):

- to each secretariat member, a digest of the entries found stale by one run:
  "directory:stale:<day>:secretariat:<user id>:<digest of the entries>";
- to each org admin of a provider's network organisation, the entries of the
  providers they look after: "directory:stale:<day>:admin:<user id>:<digest>".

The digest is a hash of the entries and the confirmation each one is stale
from, so the same finding is never mailed twice, and an entry that goes
stale again a year after its next confirmation is a new finding.
"""

from __future__ import annotations

import hashlib
import re

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from core.models import OutboxMessage
from core.outbox import queue_message

STALE_PREFIX = "directory:stale"
# A digest lists this many entries; the rest are counted (the page lists them all).
MAX_LISTED = 100
_BLANK_RUNS = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")


def absolute(path: str) -> str:
    """Links in mails are absolute and need no request (a worker has none)."""
    return settings.SITE_URL + path


def findings_digest(services) -> str:
    """A short hash of the entries and the confirmation each is stale from."""
    parts = sorted(f"{s.pk}:{s.verified_on or 'never'}" for s in services)
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]


def stale_key(day, audience: str, user_id: int, services) -> str:
    return f"{STALE_PREFIX}:{day.isoformat()}:{audience}:{user_id}:{findings_digest(services)}"


def _render(name: str, context: dict) -> tuple[str, str]:
    # A worker has no request that would activate a language.
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"directory/emails/{name}_subject.txt", context)
        body = render_to_string(f"directory/emails/{name}.txt", context)
    body = _BLANK_RUNS.sub("\n\n", body.strip())
    return " ".join(subject.split()), body + "\n"


def _entries(services) -> list[tuple]:
    return [
        (s, absolute(reverse("directory:service_edit", args=[s.pk]))) for s in services[:MAX_LISTED]
    ]


def stale_entries(
    *, day, audience: str, user_id: int, email: str, addressee: str, services: list
) -> OutboxMessage | None:
    """Ask one person (a secretariat member, `audience="secretariat"`, or an
    org admin, `"admin"`) to confirm or correct the entries in `services`."""
    subject, body = _render(
        f"stale_{audience}",
        {
            "addressee": addressee,
            "entries": _entries(services),
            "count": len(services),
            "not_listed": max(0, len(services) - MAX_LISTED),
            "months": settings.DIRECTORY_STALE_MONTHS,
            "freshness_url": absolute(reverse("directory:freshness")),
            "site_url": settings.SITE_URL,
        },
    )
    return queue_message(
        key=stale_key(day, audience, user_id, services),
        kind=f"directory.stale_{audience}",
        to_email=email,
        subject=subject,
        body=body,
    )
