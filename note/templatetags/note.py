"""Template filters of the board and the note.

`note_markdown` is the only way a post's text becomes HTML on a page
(note.formatting.render). The time filters show a post's moment to the
minute and never to the second: seconds (and the order they give between
posts written in the same minute) would help match an anonymous post with
other traces of its author, so no page carries them, not even in an attribute.
"""

import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html

from core.templatetags.wareki import jdate

from .. import formatting

register = template.Library()


@register.filter
def note_markdown(text):
    return formatting.render(text)


@register.filter
def excerpt(text, length=90):
    return formatting.excerpt(text, int(length))


def _minute(value: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(value).replace(second=0, microsecond=0)


@register.filter
def minute_iso(value) -> str:
    """2024-05-01T13:05+09:00 (no seconds)."""
    if not isinstance(value, datetime.datetime):
        return ""
    moment = _minute(value)
    offset = moment.strftime("%z")
    return moment.strftime("%Y-%m-%dT%H:%M") + f"{offset[:3]}:{offset[3:]}"


@register.filter
def minute(value) -> str:
    """2024年5月1日(水) 13:05."""
    if not isinstance(value, datetime.datetime):
        return ""
    moment = _minute(value)
    return f"{jdate(moment)} {moment:%H:%M}"


@register.filter
def note_time(value):
    """<time datetime="…">…</time>, to the minute."""
    if not isinstance(value, datetime.datetime):
        return ""
    return format_html('<time datetime="{}">{}</time>', minute_iso(value), minute(value))
