"""The choices of the network app, in a leaf module.

Nothing here imports from the app, so models, querysets and access all import
these without importing one another. Code compares against these members,
never against the stored strings ("municipality", "pending"…). The models keep
them as class attributes (`Organisation.Kind`, `JoinRequest.Status`…) for the
code that reads them there.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class MunicipalityKind(models.TextChoices):
    CITY = "市", _("市")
    TOWN = "町", _("町")
    VILLAGE = "村", _("村")


class OrganisationKind(models.TextChoices):
    MUNICIPALITY = "municipality", _("自治体")
    CONTRACTOR = "contractor", _("受託団体")
    SUPPORT = "support", _("支援団体")
    GOVERNMENT = "government", _("国・関係行政")
    OTHER = "other", _("その他")


class StaffRole(models.TextChoices):
    # Keys follow network/data/staff_roles.csv, plus the municipal officer.
    SHUNIN_SODAN = "shunin_sodan", _("主任相談支援員")
    SODAN = "sodan", _("相談支援員")
    SHURO = "shuro", _("就労支援員")
    SHURO_JUNBI_TANTO = "shuro_junbi_tanto", _("就労準備支援担当者")
    KAKEI_KAIZEN = "kakei_kaizen", _("家計改善支援員")
    GYOSEI = "gyosei", _("行政担当者")
    MANAGER = "manager", _("管理者・事務局")
    OTHER = "other", _("その他")


class Experience(models.TextChoices):
    UNDER_1 = "lt1", _("1年未満")
    Y1_3 = "1to3", _("1〜3年")
    Y3_5 = "3to5", _("3〜5年")
    Y5_10 = "5to10", _("5〜10年")
    OVER_10 = "gte10", _("10年以上")


class InvitationState(models.TextChoices):
    """Derived from an invitation's timestamps (Invitation.state), not stored."""

    PENDING = "pending", _("未受諾")
    ACCEPTED = "accepted", _("受諾済み")
    REVOKED = "revoked", _("取消済み")
    EXPIRED = "expired", _("期限切れ")


class JoinRequestStatus(models.TextChoices):
    PENDING = "pending", _("審査中")
    APPROVED = "approved", _("承認")
    DECLINED = "declined", _("見送り")
