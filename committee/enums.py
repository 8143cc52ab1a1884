"""The needs register's choices. A leaf module: it imports nothing of the
project, so models, querysets and access can all use it."""

import enum

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.enums import SupportFunction

# The seven functions of 支援者支援 (seed), shared with note and support.
NeedFunction = SupportFunction


class NeedStatus(models.TextChoices):
    NEW = "new", _("新規")
    SORTING = "sorting", _("整理中")
    IN_PROGRESS = "in_progress", _("対応中")
    PROPOSED = "proposed", _("提言済")
    RESOLVED = "resolved", _("解決")
    CLOSED = "closed", _("終了")


# The needs still on the committee's table (the home page's and the board's "open").
OPEN_NEED_STATUSES = (NeedStatus.NEW, NeedStatus.SORTING, NeedStatus.IN_PROGRESS)
# Statuses that name the function acting on the need: a function comes first.
FUNCTION_REQUIRED_STATUSES = (NeedStatus.IN_PROGRESS, NeedStatus.PROPOSED, NeedStatus.RESOLVED)


class NeedSource(models.TextChoices):
    REGISTRATION = "registration", _("情報交換会の事前質問")
    ANSWER = "answer", _("アンケートの自由記述")
    TOPIC = "topic", _("掲示板の相談")
    APPLICATION = "application", _("後方支援の申込")
    OUTCOME = "outcome", _("後方支援の成果報告")
    MANUAL = "manual", _("手入力")


# The kinds of source "raise as need" accepts.
RAISABLE_SOURCES = (
    NeedSource.REGISTRATION,
    NeedSource.ANSWER,
    NeedSource.TOPIC,
    NeedSource.APPLICATION,
    NeedSource.OUTCOME,
)


class SourcePage(enum.Enum):
    """Where a need's link to its source goes (committee.access.source_page)."""

    REGISTRATIONS = "registrations"  # the event's registration list
    RESPONSES = "responses"  # a named survey's individual answers
    RESULTS = "results"  # a survey's aggregates
    TOPIC = "topic"  # the board's topic (its room decides who reads it)
    APPLICATION = "application"  # the secretariat's page of a back-up menu application
    ENGAGEMENT = "engagement"  # an engagement's records and outcome report


class ReportSection(models.TextChoices):
    """The annual report's paragraphs the secretariat writes (committee.report)."""

    ISSUES = "issues", _("課題")
    SURVEY_SUMMARY = "survey_summary", _("アンケート総括")
