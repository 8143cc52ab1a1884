"""The choices of the events app: kinds, formats, audiences and statuses.

A leaf module: it imports nothing from the app (only Django), so models,
querysets and access can all use it without importing one another. Code
compares against these members, never against the stored strings
("published", "confirmed"); templates ask the models' methods instead
(`event.is_published`, `registration.is_confirmed`).

The models keep them as class attributes (`Event.Status is EventStatus`), so
`Event.Status.PUBLISHED` reads as before.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EventKind(models.TextChoices):
    EXCHANGE = "exchange", _("情報交換会")
    SYMPOSIUM = "symposium", _("シンポジウム")
    STUDY = "study", _("勉強会")
    REPORT = "report", _("報告会")
    SUBCOMMITTEE = "subcommittee", _("部会")


class EventFormat(models.TextChoices):
    VENUE = "venue", _("会場")
    ONLINE = "online", _("オンライン")
    HYBRID = "hybrid", _("会場＋オンライン")


class EventAudience(models.TextChoices):
    MEMBERS = "members", _("メンバー全員")
    MUNICIPAL = "municipal", _("自治体のみ")
    CONTRACTOR = "contractor", _("受託団体のみ")
    PROGRAM = "program", _("特定の事業の実施団体")
    PUBLIC = "public", _("一般公開")


class EventStatus(models.TextChoices):
    DRAFT = "draft", _("下書き")
    PUBLISHED = "published", _("公開中")
    CANCELLED = "cancelled", _("中止")
    FINISHED = "finished", _("終了")


class RegistrationMode(models.TextChoices):
    VENUE = "venue", _("会場")
    ONLINE = "online", _("オンライン")


class RegistrationStatus(models.TextChoices):
    PENDING = "pending", _("メール確認待ち")
    CONFIRMED = "confirmed", _("参加確定")
    WAITLISTED = "waitlisted", _("キャンセル待ち")
    CANCELLED = "cancelled", _("キャンセル")


class SocialStatus(models.TextChoices):
    NONE = "none", _("参加しない")
    CONFIRMED = "confirmed", _("参加確定")
    WAITLISTED = "waitlisted", _("キャンセル待ち")


class RegistrationWindow(models.TextChoices):
    """Whether an event takes registrations from members and the public now
    (Event.registration_window); the secretariat is not bound by it."""

    OPEN = "open", _("受付中")
    NOT_YET = "not_yet", _("受付開始前")
    CLOSED = "closed", _("受付終了")

    # Templates ask these (`{% if window.is_open %}`) instead of comparing strings.
    @property
    def is_open(self) -> bool:
        return self is RegistrationWindow.OPEN

    @property
    def is_not_yet_open(self) -> bool:
        return self is RegistrationWindow.NOT_YET

    @property
    def is_closed(self) -> bool:
        return self is RegistrationWindow.CLOSED


class Attendance(models.TextChoices):
    """The bulk message's 出欠 filter (services.BulkAudience.attendance)."""

    PRESENT = "present", _("出席")
    ABSENT = "absent", _("欠席")


# Registrations that still count (hold a seat, wait for one, or wait for the
# e-mailed confirmation).
ACTIVE_REGISTRATION_STATUSES = (
    RegistrationStatus.PENDING,
    RegistrationStatus.CONFIRMED,
    RegistrationStatus.WAITLISTED,
)
# Registrations that hold (or wait for) a seat; a pending guest holds nothing.
DECIDED_REGISTRATION_STATUSES = (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)
# The states in which an event has been announced to its audience.
ANNOUNCED_EVENT_STATUSES = (EventStatus.PUBLISHED, EventStatus.FINISHED)
