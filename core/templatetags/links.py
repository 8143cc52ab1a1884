"""Links to addresses that people typed (an organisation's website, an event's
online URL): only http and https become a link. The forms and imports already
refuse other schemes; this keeps a `javascript:` address that reached the
database some other way from ever being clickable."""

from urllib.parse import urlsplit

from django import template

register = template.Library()

LINK_SCHEMES = frozenset({"http", "https"})


@register.filter
def http_url(value) -> str:
    """The address when it is an http(s) URL, otherwise ""."""
    text = str(value or "").strip()
    try:
        scheme = urlsplit(text).scheme.lower()
    except ValueError:
        return ""
    return text if scheme in LINK_SCHEMES else ""
