"""The back-up menus' part of seed_demo: the seed's seven menus with
partners, the partner account, a completed ⑦ and a pending ③; running it
twice adds nothing."""

import pytest
from django.contrib.auth import authenticate

from core import privacy
from network.demo import DEMO_PASSWORD
from support import demo
from support.enums import ApplicationStatus
from support.models import Application, EngagementSession, Menu
from surveys.enums import SurveyKind
from surveys.models import Survey

pytestmark = pytest.mark.django_db


def test_support_demo_texts_pass_the_privacy_guard():
    texts = [m.summary for m in demo.MENUS]
    assert [t for t in texts if not privacy.is_clean(t)] == []


def test_support_demo_seeds_the_seeds_seven_menus_once():
    from events.demo import seed_events
    from network.demo import seed_network

    seed_network()
    seed_events()
    demo.seed_support()
    counts = (Menu.objects.count(), Application.objects.count(), EngagementSession.objects.count())
    demo.seed_support()

    assert (
        (
            Menu.objects.count(),
            Application.objects.count(),
            EngagementSession.objects.count(),
        )
        == counts
        == (7, 2, 2)
    )
    assert list(Menu.objects.values_list("number", "name")) == [
        (1, "北海道NPOのデジタル化相談事業"),
        (2, "SNS相談窓口の開設支援"),
        (3, "シェルター広域連携推進事業"),
        (4, "心のSOSカウンセリング事業"),
        (5, "オンライン就労準備支援事業"),
        (6, "地域ジョブコーチ育成プログラム"),
        (7, "フードバンク窓口連携支援事業"),
    ]
    assert [m for m in Menu.objects.all() if not m.partners.exists()] == []
    assert sorted(Application.objects.values_list("menu__number", "status")) == [
        (3, ApplicationStatus.SUBMITTED),
        (7, ApplicationStatus.COMPLETED),
    ]
    assert Survey.objects.filter(kind=SurveyKind.SUPPORT_FOLLOW_UP).count() == 1
    partner = authenticate(email=demo.PARTNER, password=DEMO_PASSWORD)
    food = Application.objects.get(menu__number=7)
    assert partner.memberships.get().organisation == food.engagement.partner
