"""Japanese calendar formatting (DESIGN §5): 年度 as 令和N年度, dates as 2021年6月4日(金)."""

import datetime

from django import template
from django.utils import timezone

register = template.Library()

# (first fiscal year of the era, era name). A fiscal year takes the era in force
# on its 1 April, except that the year an era began in is already counted in the
# new era (令和元年度 = FY2019, although 令和 began on 1 May 2019) — the usage of
# the national and Hokkaido governments.
_ERAS = (
    (2019, "令和"),
    (1989, "平成"),
    (1926, "昭和"),
)
_WEEKDAYS = "月火水木金土日"


def _era_year(year: int) -> str | None:
    for start, name in _ERAS:
        if year >= start:
            n = year - start + 1
            return f"{name}{'元' if n == 1 else n}"
    return None


@register.filter
def wareki_fy(value) -> str:
    """2021 → 令和3年度. Anything that is not a year is shown unchanged."""
    try:
        year = int(value)
    except (TypeError, ValueError):
        return "" if value is None else str(value)
    era = _era_year(year)
    return f"{era}年度" if era else f"{year}年度"


def _local_date(value) -> datetime.date | None:
    """A date, or a datetime's date in local time; None for anything else."""
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        value = value.date()
    return value if isinstance(value, datetime.date) else None


@register.filter
def jdate(value) -> str:
    """A date (or datetime, in local time) as 2021年6月4日(金)."""
    value = _local_date(value)
    if value is None:
        return ""
    return f"{value.year}年{value.month}月{value.day}日({_WEEKDAYS[value.weekday()]})"


# (first day, era name) for calendar dates, which change era on the day.
_DATE_ERAS = (
    (datetime.date(2019, 5, 1), "令和"),
    (datetime.date(1989, 1, 8), "平成"),
    (datetime.date(1926, 12, 25), "昭和"),
)


def _era_and_year(day: datetime.date) -> str:
    """令和3 (令和元) for a calendar date, by the day its era began."""
    for start, name in _DATE_ERAS:
        if day >= start:
            n = day.year - start.year + 1
            return f"{name}{'元' if n == 1 else n}"
    return str(day.year)


@register.filter
def wareki_date(value) -> str:
    """A date (or datetime, in local time) in the Japanese calendar, as
    official documents write it: 令和3年6月4日 (令和元年5月1日)."""
    value = _local_date(value)
    if value is None:
        return ""
    return f"{_era_and_year(value)}年{value.month}月{value.day}日"


@register.filter
def wareki_month(value) -> str:
    """The month of a date in the Japanese calendar: 平成28年6月."""
    value = _local_date(value)
    if value is None:
        return ""
    return f"{_era_and_year(value)}年{value.month}月"
