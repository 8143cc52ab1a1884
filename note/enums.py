"""The choices of the note app (board and note), in a leaf module.

Nothing here imports from the app (only Django and network's own leaf
enums), so models, querysets and access all import these without importing
one another. Code compares against these members, never against the stored
strings ("municipal", "pending"…).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.enums import SupportFunction
from network.enums import Experience, StaffRole


class RoomKind(models.TextChoices):
    NETWORK = "network", _("ネットワーク全体")
    MUNICIPAL = "municipal", _("自治体のみ")
    PROGRAM = "program", _("事業別")
    ROLE = "role", _("職種・経験別")
    MEETING = "meeting", _("会のあと")


class RoomRole(models.TextChoices):
    """Who a role room is for (access reads the membership's staff role and
    experience band)."""

    CHIEF = "chief", _("主任相談支援員")
    NEWCOMER = "newcomer", _("初任者")


class PostState(models.TextChoices):
    """A topic's, reply's or note entry's visibility to others."""

    PUBLISHED = "published", _("公開")
    # The privacy guard found something and the author confirmed anyway: the
    # secretariat approves or hides it before anyone else sees it.
    PENDING = "pending", _("確認待ち")
    HIDDEN = "hidden", _("非表示")


class TopicFilter(models.TextChoices):
    """The room page's tabs."""

    ALL = "all", _("すべて")
    UNANSWERED = "unanswered", _("未回答")
    UNRESOLVED = "unresolved", _("未解決")
    RESOLVED = "resolved", _("解決済み")


# The seven functions of 支援者支援 (seed), as the committee numbers them.
Function = SupportFunction


class PostKind(models.TextChoices):
    """Which table a moderation URL (hide, approve, 投稿者を確認) points at."""

    TOPIC = "topic", _("相談")
    REPLY = "reply", _("返信")
    ENTRY = "entry", _("ノート")


# The membership values that put a member in a role room.
CHIEF_STAFF_ROLES = (StaffRole.SHUNIN_SODAN,)
# 初任者: up to three years in the work (the two shortest bands).
NEWCOMER_EXPERIENCE = (Experience.UNDER_1, Experience.Y1_3)
