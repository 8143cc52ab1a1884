"""The choices of the surveys app: kinds, audiences, units, statuses and states.

A leaf module: it imports nothing from the app (only Django), so models,
querysets, access, services and tasks can all use it without importing one
another. Code compares against these members, never against the stored
strings ("published", "scale"); templates ask the models' methods instead
(`survey.can_send_reminders`, `question.is_scale`).

The models keep them as class attributes (`Survey.Status is SurveyStatus`),
so `Survey.Status.PUBLISHED` reads as before.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SurveyKind(models.TextChoices):
    POST_EVENT = "post_event", _("イベント後アンケート")
    ANNUAL = "annual", _("年次アンケート（効果検証）")
    ADHOC = "adhoc", _("その他のアンケート")
    # Sent by a completed back-up menu to the organisation that applied.
    SUPPORT_FOLLOW_UP = "support_follow_up", _("後方支援の事後アンケート")


class SurveyAudience(models.TextChoices):
    EVENT_ATTENDEES = "event_attendees", _("イベントの参加者")
    ALL_ORGANISATIONS = "all_organisations", _("すべての参加組織")
    MUNICIPAL = "municipal", _("自治体のみ")
    CONTRACTOR = "contractor", _("受託団体のみ")
    CHOSEN = "chosen", _("選んだ組織")


class RespondentUnit(models.TextChoices):
    PERSON = "person", _("個人")
    ORGANISATION = "organisation", _("組織（1組織1回答）")


class SurveyStatus(models.TextChoices):
    """What is stored: a draft, or published. Whether a published survey takes
    answers follows from its answering period (SurveyState)."""

    DRAFT = "draft", _("下書き")
    PUBLISHED = "published", _("公開")


class SurveyState(models.TextChoices):
    """What the secretariat calls a survey's state (Survey.state): the stored
    status and the answering period together. Never stored."""

    DRAFT = "draft", _("下書き")
    SCHEDULED = "scheduled", _("回答開始前")
    OPEN = "open", _("回答受付中")
    CLOSED = "closed", _("締切済み")


class QuestionKind(models.TextChoices):
    SINGLE = "single", _("単一選択")
    MULTIPLE = "multiple", _("複数選択")
    SCALE = "scale", _("5段階評価")
    TEXT = "text", _("自由記述")
    NUMBER = "number", _("数値")


# The kinds answered by picking from the question's choices.
CHOICE_KINDS = (QuestionKind.SINGLE, QuestionKind.MULTIPLE)


class QuestionAudience(models.TextChoices):
    ALL = "all", _("全員")
    MUNICIPAL = "municipal", _("自治体のみ")
    CONTRACTOR = "contractor", _("受託団体・支援団体のみ")


class ResultDimension(models.TextChoices):
    """The axes of the results' cross-tabulation (?by= on the results page)."""

    KIND = "kind", _("組織種別")
    REGION = "region", _("振興局")
    PARTICIPATION = "participation", _("参加有無")


class AudienceGroup(models.TextChoices):
    """The three groups the seed reports response rates on."""

    MUNICIPAL = "municipal", _("自治体")
    CONTRACTOR = "contractor", _("受託団体・支援団体")
    OTHER = "other", _("その他")
