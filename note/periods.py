"""The note's time rules, from settings: the edit window and the review
period. A leaf module (models and querysets both use it)."""

from __future__ import annotations

import datetime
from calendar import monthrange

from django.conf import settings

DEFAULT_EDIT_WINDOW_MINUTES = 30
DEFAULT_REVIEW_MONTHS = 12


def edit_window() -> datetime.timedelta:
    """How long after posting the author may still edit (NOTE_EDIT_WINDOW_MINUTES)."""
    minutes = getattr(settings, "NOTE_EDIT_WINDOW_MINUTES", DEFAULT_EDIT_WINDOW_MINUTES)
    return datetime.timedelta(minutes=minutes)


def review_months() -> int:
    """After how many months a note entry is due for re-review (NOTE_REVIEW_MONTHS)."""
    return getattr(settings, "NOTE_REVIEW_MONTHS", DEFAULT_REVIEW_MONTHS)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """`day` moved by whole months, the day clamped to the month's length."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, monthrange(year, month)[1]))
