"""Choices every app shares. A leaf module: it imports only Django."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SupportFunction(models.IntegerChoices):
    """The seven functions of 支援者支援 (seed). The committee triages needs into
    them, note entries and back-up menus say which they serve."""

    NETWORK = 1, _("1 情報共有ネットワーク構築")
    NEEDS = 2, _("2 ニーズ把握")
    POLICY = 3, _("3 論点整理・政策提言")
    TRAINING = 4, _("4 人材育成")
    SUPERVISION = 5, _("5 支援者向けスーパーバイズ")
    KNOWHOW = 6, _("6 ノウハウ提供")
    RESOURCES = 7, _("7 社会資源の開拓")
