"""The choices of the back-up menus (後方支援メニュー). A leaf module: it imports
only Django and other apps' leaf enums, so models, querysets and access can all
use it. Code compares against these members, never the stored strings."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class MenuStatus(models.TextChoices):
    TRIAL = "trial", _("試行")
    ACTIVE = "active", _("実施中")
    ENDED = "ended", _("終了")


# A menu in these statuses takes applications.
OPEN_MENU_STATUSES = (MenuStatus.TRIAL, MenuStatus.ACTIVE)


class QuestionPurpose(models.TextChoices):
    """Where a menu's question is asked: in the application, or in the
    outcome report the partner writes on completion."""

    APPLICATION = "application", _("申込時の質問")
    OUTCOME = "outcome", _("成果報告の項目")


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("受付")
    ON_HOLD = "on_hold", _("保留")
    ACCEPTED = "accepted", _("実施中")
    DECLINED = "declined", _("見送り")
    WITHDRAWN = "withdrawn", _("取り下げ")
    COMPLETED = "completed", _("完了")


# Waiting for the secretariat's decision.
PENDING_STATUSES = (ApplicationStatus.SUBMITTED, ApplicationStatus.ON_HOLD)
# An application in these statuses holds one of its menu's slots for the 年度.
SLOT_STATUSES = (ApplicationStatus.ACCEPTED, ApplicationStatus.COMPLETED)
# Statuses whose change the applicant must be told the reason of.
REASON_REQUIRED_STATUSES = (ApplicationStatus.DECLINED, ApplicationStatus.ON_HOLD)


class SessionMode(models.TextChoices):
    VISIT = "visit", _("訪問")
    ONLINE = "online", _("オンライン")
    PHONE = "phone", _("電話")
    OFFICE = "office", _("来所")
