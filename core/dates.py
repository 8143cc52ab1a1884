"""Calendar rules shared by the apps (DESIGN §5)."""

import datetime

from django.utils import timezone


def fiscal_year_of(value: datetime.date | datetime.datetime) -> int:
    """年度 of a date or moment: April–March. An aware datetime is judged on
    its local (Asia/Tokyo) date: 1 April 08:00 JST, still 31 March in UTC,
    already belongs to the new 年度."""
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.year if value.month >= 4 else value.year - 1


def current_fiscal_year() -> int:
    """The 年度 of today in Asia/Tokyo."""
    return fiscal_year_of(timezone.localdate())
