"""iCalendar (RFC 5545) for events, written by hand: one event's .ics and the
personal feed. A few dozen lines do not justify a dependency.

What calendar clients insist on, and so what this module guarantees:
- lines end with CRLF and are folded at 75 octets (UTF-8 bytes, never inside a
  character), continuation lines starting with one space (§3.1);
- TEXT values escape backslash, semicolon, comma and newlines (§3.3.11);
- times are UTC with a trailing Z, so no VTIMEZONE block is needed (§3.3.5);
- UID is stable per event, so re-importing or re-fetching the feed updates the
  entry instead of adding a copy; a cancelled event keeps its UID and says
  STATUS:CANCELLED with a higher SEQUENCE, which makes clients strike it out.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

CRLF = "\r\n"
MAX_OCTETS = 75
PRODID = "-//Tsunagari//Hokkaido support network//JA"


def escape_text(value) -> str:
    """A TEXT value: backslash first (or the other escapes would be doubled)."""
    value = "" if value is None else str(value)
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\n", "\\n")


def fold(line: str) -> str:
    """Split a content line into chunks of at most 75 octets joined by CRLF +
    space. Japanese text is 3 octets a character, so counting characters would
    overflow; the chunk boundary always falls between characters."""
    if len(line.encode("utf-8")) <= MAX_OCTETS:
        return line
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    limit = MAX_OCTETS  # the first line; later ones lose one octet to the leading space
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            chunks.append("".join(current))
            current, size, limit = [], 0, MAX_OCTETS - 1
        current.append(char)
        size += width
    chunks.append("".join(current))
    return (CRLF + " ").join(chunks)


def format_utc(value: datetime.datetime) -> str:
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def uid_for(event) -> str:
    host = urlsplit(settings.SITE_URL).hostname or "tsunagari"
    return f"event-{event.pk}@{host}"


def location_for(event) -> str:
    place = ""
    if event.offers_venue:
        place = " ".join(part for part in (event.venue_name, event.venue_address) if part)
        if not place and event.municipality_id:
            place = event.municipality.name
    if event.offers_online:
        place = f"{place}／オンライン" if place else "オンライン"
    return place


@dataclass(frozen=True)
class Entry:
    """One VEVENT. `summary_prefix` marks e.g. a waiting-list place."""

    event: object
    url: str
    summary_prefix: str = ""
    note: str = ""


def _event_lines(entry: Entry, dtstamp: datetime.datetime) -> list[str]:
    event = entry.event
    cancelled = event.is_cancelled
    summary = event.title
    if cancelled:
        summary = f"【中止】{summary}"
    elif entry.summary_prefix:
        summary = f"{entry.summary_prefix}{summary}"
    description = [entry.note, event.theme, event.description, entry.url]
    if cancelled and event.cancellation_reason:
        description.insert(0, f"中止の理由: {event.cancellation_reason}")
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid_for(event)}",
        f"DTSTAMP:{format_utc(dtstamp)}",
        f"DTSTART:{format_utc(event.starts_at)}",
        f"DTEND:{format_utc(event.ends_at)}",
        f"SUMMARY:{escape_text(summary)}",
    ]
    location = location_for(event)
    if location:
        lines.append(f"LOCATION:{escape_text(location)}")
    lines += [
        f"URL:{entry.url}",
        f"DESCRIPTION:{escape_text(chr(10).join(part for part in description if part))}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        # Clients apply an update to a known UID only when SEQUENCE grows.
        f"SEQUENCE:{1 if cancelled else 0}",
    ]
    if event.updated_at:
        lines.append(f"LAST-MODIFIED:{format_utc(event.updated_at)}")
    lines.append("END:VEVENT")
    return lines


def calendar(entries: Iterable[Entry], *, name: str, now: datetime.datetime | None = None) -> str:
    """The whole VCALENDAR as a str; encode as UTF-8 for the response."""
    now = now or timezone.now()
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        "X-WR-TIMEZONE:Asia/Tokyo",
    ]
    for entry in entries:
        lines += _event_lines(entry, now)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)
