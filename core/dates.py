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


def is_public_holiday(day: datetime.date) -> bool:
    """A 国民の祝日 or 振替休日 (from the `holidays` package's Japanese calendar)."""
    import holidays

    return day in holidays.country_holidays("JP", years=day.year)


def is_year_end_break(day: datetime.date) -> bool:
    """年末年始 (29 December – 3 January): municipal offices are closed."""
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


def is_working_day(day: datetime.date) -> bool:
    """A day on which a meeting of support staff can be held: a weekday that is
    neither a public holiday nor in the year-end break."""
    return day.weekday() < 5 and not is_public_holiday(day) and not is_year_end_break(day)


def next_working_day(day: datetime.date) -> datetime.date:
    """`day` itself when it is a working day, else the first one after it."""
    while not is_working_day(day):
        day += datetime.timedelta(days=1)
    return day


def local_day_start(value: datetime.date | datetime.datetime) -> datetime.datetime:
    """Midnight (Asia/Tokyo) of a date, or of the local day an aware moment falls
    on, as an aware datetime: the one way "today" and "that day" are bounded."""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date()
    return timezone.make_aware(datetime.datetime.combine(value, datetime.time.min))


# The 年度 a URL or form may name: the relay of exchange meetings began in 2016;
# nothing is planned more than a year ahead.
FIRST_FISCAL_YEAR = 2016


def last_fiscal_year() -> int:
    return current_fiscal_year() + 1


class BadFiscalYear(ValueError):
    """A ?fy= value that is not a 年度 the portal knows; str() is the Japanese message."""


def parse_fiscal_year(value: str | None) -> int | None:
    """The ?fy= parameter: None when absent or empty, else an integer 年度 in
    FIRST_FISCAL_YEAR … last_fiscal_year(); anything else raises BadFiscalYear."""
    from django.utils.translation import gettext as _

    if value is None or value.strip() == "":
        return None
    try:
        year = int(value.strip())
    except ValueError:
        raise BadFiscalYear(
            _("年度（fy）は西暦の整数で指定してください（例: fy=2021）。")
        ) from None
    if not FIRST_FISCAL_YEAR <= year <= last_fiscal_year():
        raise BadFiscalYear(
            _("年度（fy）は %(min)d〜%(max)d の範囲で指定してください。")
            % {"min": FIRST_FISCAL_YEAR, "max": last_fiscal_year()}
        )
    return year
