"""The e-mails of the events app: what each says, and under which outbox key.

Each message is a pair of templates under templates/events/emails/
(`<name>_subject.txt`, `<name>.txt`) rendered in Japanese and recorded through
core.outbox.queue_message. The key names the occasion (e.g.
"registration:42:confirmed"), so the same occasion never mails twice, however
often a service or sweep runs. Callers pass registrations with `event`, `user`
and `session` already loaded.

The online URL appears only in the online-link mail, which goes only to people
confirmed for online participation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from core.models import OutboxMessage
from core.outbox import queue_message
from core.templatetags.wareki import jdate

from .models import Event, GuestRequest, Registration

_BLANK_RUNS = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")

# --- keys -----------------------------------------------------------------------


def registration_key(registration: Registration, occasion: str) -> str:
    return f"registration:{registration.pk}:{occasion}"


def event_key(event_id: int, occasion: str, registration_id: int) -> str:
    return f"event:{event_id}:{occasion}:{registration_id}"


def reminder_key(registration: Registration, days: int) -> str:
    return event_key(registration.event_id, f"reminder:{days}d", registration.pk)


def online_link_key(registration: Registration) -> str:
    return event_key(registration.event_id, "online-link", registration.pk)


def thanks_key(registration: Registration) -> str:
    return event_key(registration.event_id, "thanks", registration.pk)


def not_yet_queued(registrations: Iterable, key_of: Callable) -> list[Registration]:
    """Drop the registrations whose message already exists, in one query, so a
    second run renders and inserts nothing."""
    registrations = list(registrations)
    if not registrations:
        return []
    keys = {registration.pk: key_of(registration) for registration in registrations}
    existing = set(
        OutboxMessage.objects.filter(key__in=keys.values()).values_list("key", flat=True)
    )
    return [r for r in registrations if keys[r.pk] not in existing]


def queue_each(registrations: Iterable, key_of: Callable, send: Callable) -> int:
    """Send `send(registration)` to each of `registrations` whose message
    (`key_of`) is not in the outbox yet; returns how many were queued."""
    return sum(1 for registration in not_yet_queued(registrations, key_of) if send(registration))


def _repeatable_key(base: str) -> str:
    """A key for an occasion that can happen again to the same registration
    (promoted, moved to a full mode and waitlisted, promoted again): the first
    time the plain key, later ones numbered. Callers hold the event lock, so two
    promotions of one registration cannot race for a number."""
    if not OutboxMessage.objects.filter(key=base).exists():
        return base
    return f"{base}:{OutboxMessage.objects.filter(key__startswith=base + ':').count() + 2}"


def _timestamp(moment) -> str:
    return timezone.localtime(moment).strftime("%Y%m%dT%H%M%S%f")


# --- formatting -------------------------------------------------------------------


def _clock(moment) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


def format_when(event: Event) -> str:
    """2021年6月4日(金) 13:30〜16:30 (the end date is repeated only when it differs)."""
    start = timezone.localtime(event.starts_at)
    end = timezone.localtime(event.ends_at)
    text = f"{jdate(start)} {_clock(start)}〜"
    if end.date() != start.date():
        text += f"{jdate(end)} "
    return text + _clock(end)


def format_place(event: Event) -> str:
    parts = [p for p in (event.venue_name, event.venue_address) if p]
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0]
    return f"{parts[0]}（{parts[1]}）"


def absolute(path: str) -> str:
    return settings.SITE_URL + path


def event_url(event: Event) -> str:
    return absolute(event.get_absolute_url())


def _render(name: str, context: dict) -> tuple[str, str]:
    # A worker has no request that would activate a language.
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"events/emails/{name}_subject.txt", context)
        body = render_to_string(f"events/emails/{name}.txt", context)
    # Template tags leave blank lines behind; a mail reads better without runs of them.
    body = _BLANK_RUNS.sub("\n\n", body.strip())
    return " ".join(subject.split()), body + "\n"


def _addressee(registration) -> str:
    """The name a mail opens with: the account's, once the registration is
    the account holder's own. A pending one was typed into the public form by
    anyone, so its mails open neutrally and repeat nothing of what was typed."""
    if registration.is_pending:
        return ""
    return registration.user.full_name


def _message(name: str, registration: Registration | GuestRequest, **extra) -> tuple[str, str]:
    """The subject and body of one mail to one registration, as sent."""
    event = registration.event
    pending_request = isinstance(registration, GuestRequest)
    context = {
        "event": event,
        "registration": registration,
        "user": None if pending_request else registration.user,
        "addressee": _addressee(registration),
        "when": format_when(event),
        "place": format_place(event),
        "event_url": event_url(event),
        "mine_url": absolute(reverse("events:mine")),
        "site_url": settings.SITE_URL,
        **extra,
    }
    return _render(name, context)


# Columns a mail never shows and that change when the row is written.
_UNSHOWN = {"id", "created_at", "updated_at"}


def _values(instance) -> tuple:
    if instance is None:
        return ()
    return tuple(
        getattr(instance, f.attname)
        for f in instance._meta.concrete_fields
        if f.attname not in _UNSHOWN
    )


def _source(name: str, registration, extra: dict) -> tuple:
    """Everything a mail is rendered from, to tell whether a mail rendered
    ahead still says what it would say now."""
    return (
        name,
        _values(registration),
        _values(registration.event),
        _values(getattr(registration, "session", None)),
        _addressee(registration),
        sorted(extra.items()),
    )


@dataclass(frozen=True)
class Rendered:
    """A mail rendered ahead of the write it reports: services.register
    renders it before locking the event (for the outcome expected then), so
    that the locked section only records it. `source` is what it was rendered
    from; the mail is used only if the registration turned out the same."""

    name: str
    subject: str
    body: str
    source: tuple


def render(name: str, registration: Registration | GuestRequest, **extra) -> Rendered:
    subject, body = _message(name, registration, **extra)
    return Rendered(name, subject, body, _source(name, registration, extra))


def _queue(
    name: str,
    key: str,
    registration: Registration | GuestRequest,
    *,
    rendered: Rendered | None = None,
    **extra,
) -> OutboxMessage | None:
    if rendered is not None and rendered.source == _source(name, registration, extra):
        subject, body = rendered.subject, rendered.body
    else:
        subject, body = _message(name, registration, **extra)
    pending_request = isinstance(registration, GuestRequest)
    to_email = registration.email if pending_request else registration.user.email
    return queue_message(
        key=key, kind=f"events.{name}", to_email=to_email, subject=subject, body=body
    )


# --- the messages -----------------------------------------------------------------


def _result_name(registration: Registration) -> str | None:
    if registration.is_confirmed:
        return "confirmed"
    if registration.is_waitlisted:
        return "waitlisted"
    return None


def render_registration_result(registration: Registration) -> Rendered | None:
    """registration_result's mail for the registration as it stands, not queued."""
    name = _result_name(registration)
    return render(name, registration) if name else None


def registration_result(
    registration: Registration, *, rendered: Rendered | None = None
) -> OutboxMessage | None:
    """Confirmation, or the news of being on the waiting list. `rendered`
    (render_registration_result, ahead of the decision) is used when it was
    rendered for the same outcome; otherwise the mail is rendered now."""
    name = _result_name(registration)
    if name is None:
        return None
    return _queue(name, registration_key(registration, name), registration, rendered=rendered)


def render_guest_confirm(registration: Registration | GuestRequest, token: str) -> Rendered:
    """guest_confirm's mail, not queued."""
    return render("guest_confirm", registration, confirm_url=_confirm_url(token))


def _confirm_url(token: str) -> str:
    return absolute(reverse("events:confirm_guest", args=[token]))


def guest_confirm(
    registration: Registration | GuestRequest, token: str, *, rendered: Rendered | None = None
) -> OutboxMessage | None:
    # One mail per token: a resend issues a new token and so a new key. The link
    # is in the stored body until sent; it works once and holds no seat.
    occasion = f"guest-confirm:{registration.confirmation_token_hash[:16]}"
    if isinstance(registration, GuestRequest):
        key = f"guest-request:{registration.pk}:{occasion}"
    else:
        key = registration_key(registration, occasion)
    return _queue(
        "guest_confirm", key, registration, rendered=rendered, confirm_url=_confirm_url(token)
    )


def promoted(registration: Registration) -> OutboxMessage | None:
    key = _repeatable_key(registration_key(registration, "promoted"))
    return _queue("promoted", key, registration)


def social_promoted(registration: Registration) -> OutboxMessage | None:
    key = _repeatable_key(registration_key(registration, "social-promoted"))
    return _queue("social_promoted", key, registration)


def changed(registration: Registration, *, lost_seat: bool) -> OutboxMessage | None:
    """The new details; `lost_seat` when the new mode or session is full and the
    person is now on its waiting list. Says so when the secretariat made the
    change on the person's behalf."""
    key = registration_key(registration, f"changed:{_timestamp(registration.updated_at)}")
    return _queue(
        "changed",
        key,
        registration,
        lost_seat=lost_seat,
        by_secretariat=registration.changed_on_behalf,
    )


def cancelled(registration: Registration) -> OutboxMessage | None:
    return _queue(
        "cancelled",
        registration_key(registration, "cancelled"),
        registration,
        by_secretariat=registration.cancelled_on_behalf,
    )


def event_changed(registration: Registration, *, change_id: str, changes) -> OutboxMessage | None:
    """The new date, venue or online link of an event the person registered
    for (`changes`: the events.services.DetailChange rows that concern them).
    One mail per person per change: the key names the change."""
    if not changes:
        return None
    key = event_key(registration.event_id, f"details-changed:{change_id}", registration.pk)
    return _queue(
        "event_changed",
        key,
        registration,
        changes=changes,
        online_url=registration.event.online_url,
    )


def event_cancelled(registration: Registration) -> OutboxMessage | None:
    key = event_key(registration.event_id, "cancelled", registration.pk)
    return _queue("event_cancelled", key, registration)


def reminder(registration: Registration, days: int) -> OutboxMessage | None:
    return _queue("reminder", reminder_key(registration, days), registration, days=days)


def online_link(registration: Registration) -> OutboxMessage | None:
    event = registration.event
    if not (registration.is_confirmed and registration.is_online and event.online_url):
        return None
    return _queue(
        "online_link", online_link_key(registration), registration, online_url=event.online_url
    )


def thanks(registration: Registration) -> OutboxMessage | None:
    event = registration.event
    return _queue(
        "thanks",
        thanks_key(registration),
        registration,
        slides_url=absolute(event.slides.url) if event.slides else "",
    )


def bulk_message_text(registration: Registration, *, subject: str, body: str) -> tuple[str, str]:
    """The bulk message to `registration` exactly as bulk_message sends it (the preview)."""
    return _message("bulk_message", registration, message_subject=subject, message_body=body)


def bulk_message(
    registration: Registration, *, message_id: str, subject: str, body: str
) -> OutboxMessage | None:
    key = f"event:{registration.event_id}:message:{message_id}:{registration.user_id}"
    return _queue("bulk_message", key, registration, message_subject=subject, message_body=body)
