"""Back-up menus part of `manage.py seed_demo` (demo and development only):
the seed's seven menus (part Ⅲ) with their partners, questions and outcome
fields, the demo partner account, and a few applications of this 年度 written
through the services, so the pages and the committee's figures have
something to show. Everything but the menus' names is invented.

Idempotent: a menu is found by its number, an application by its
organisation, menu and text, and nothing is created twice.

Which of the seven functions each menu serves is read from the seed's table
(Ⅲ serves all seven as a whole; the per-menu notes under the list name
社会資源の開拓, ノウハウ提供, 人材育成, ニーズ把握 …); the secretariat edits
them in the admin.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from network.demo import DEMO_PASSWORD, SAMPLE_ORGS
from network.enums import OrganisationKind
from network.models import Membership, Organisation, User
from surveys.enums import QuestionKind

from . import services
from .enums import MenuStatus, QuestionPurpose, SessionMode
from .models import Application, Menu, MenuQuestion

SECRETARIAT = "secretariat@example.org"
NPO = "npo@example.org"
# The demo account of the partner that delivers ⑦ (a 支援団体's staff).
PARTNER = "partner@example.org"
PARTNER_ORG = "foodbank-renraku"

CON, SUP, MUN = OrganisationKind.CONTRACTOR, OrganisationKind.SUPPORT, OrganisationKind.MUNICIPALITY


@dataclass(frozen=True)
class Q:
    key: str
    text: str
    kind: str
    required: bool = False
    choices: tuple[str, ...] = ()
    help_text: str = ""


@dataclass(frozen=True)
class DemoMenu:
    number: int
    name: str
    summary: str
    functions: tuple[int, ...]
    partners: tuple[str, ...]
    kinds: tuple[str, ...] = (CON, SUP, MUN)
    slots: int = 5
    application: tuple[Q, ...] = ()
    outcome: tuple[Q, ...] = field(default=())


MENUS = [
    DemoMenu(
        1,
        "北海道NPOのデジタル化相談事業",
        "相談記録・連絡・会議のデジタル化を、団体の実情に合わせて一緒に進めます。",
        (4, 6, 7),
        ("chiiki-fukushi-ken",),
        kinds=(CON, SUP),
        application=(
            Q(
                "tools",
                "いま使っている道具",
                QuestionKind.MULTIPLE,
                choices=(
                    "紙の記録",
                    "表計算ソフト",
                    "クラウドの共有フォルダ",
                    "オンライン会議",
                    "チャット",
                ),
            ),
        ),
        outcome=(Q("tools_adopted", "使い始めた道具の数", QuestionKind.NUMBER, required=True),),
    ),
    DemoMenu(
        2,
        "SNS相談窓口の開設支援",
        "LINEなどSNSでの相談窓口を開くための準備・運用ルールづくりを支援します。",
        (2, 6, 7),
        ("tabunka",),
        application=(
            Q(
                "channel",
                "開設したいSNS",
                QuestionKind.SINGLE,
                required=True,
                choices=("LINE", "X（旧Twitter）", "Instagram", "その他"),
            ),
        ),
        outcome=(
            Q(
                "window_opened",
                "SNS窓口を開設しましたか",
                QuestionKind.SINGLE,
                required=True,
                choices=("開設した", "準備中", "見送った"),
            ),
            Q("opened_from", "開設した日（例: 2026-04-01）", QuestionKind.TEXT),
        ),
    ),
    DemoMenu(
        3,
        "シェルター広域連携推進事業",
        "一時的な住まいが必要なとき、管内を越えてシェルターを調整する仕組みをつくります。",
        (1, 7),
        ("kushiro-shelter", "kita-sumai"),
        slots=4,
        outcome=(
            Q("referrals", "調整したシェルター利用の件数", QuestionKind.NUMBER, required=True),
        ),
    ),
    DemoMenu(
        4,
        "心のSOSカウンセリング事業",
        "孤立しがちな相談者と支援者のために、心の専門職による相談の場を設けます。",
        (6, 7),
        ("hikikomori-kazoku",),
        outcome=(
            Q("sessions_held", "実施したカウンセリングの回数", QuestionKind.NUMBER, required=True),
        ),
    ),
    DemoMenu(
        5,
        "オンライン就労準備支援事業",
        "遠方でも参加できる、オンラインの就労準備プログラムを一緒に運営します。",
        (2, 4, 6),
        ("asahikawa-wakamono", "otaru-shuro"),
        outcome=(Q("participants", "参加した人数（延べ）", QuestionKind.NUMBER, required=True),),
    ),
    DemoMenu(
        6,
        "地域ジョブコーチ育成プログラム",
        "地域で就労を支えるジョブコーチを、実習を交えて育てます。",
        (4, 5, 6, 7),
        ("hamanasu-shigoto",),
        slots=3,
        outcome=(
            Q("coaches_trained", "育成したジョブコーチの人数", QuestionKind.NUMBER, required=True),
        ),
    ),
    DemoMenu(
        7,
        "フードバンク窓口連携支援事業",
        "相談窓口とフードバンクをつなぎ、食料支援をすぐに届けられるようにします。",
        (1, 6, 7),
        (PARTNER_ORG, "tokachi-foodshare"),
        kinds=(CON, SUP, MUN),
        slots=6,
        application=(
            Q(
                "households",
                "食料支援が必要になる見込み（月あたり世帯数）",
                QuestionKind.NUMBER,
                help_text="おおよその数で構いません。",
            ),
        ),
        outcome=(
            Q(
                "links_made",
                "連携を始めたフードバンク・窓口の数",
                QuestionKind.NUMBER,
                required=True,
            ),
            Q("deliveries", "つないだ食料支援の件数", QuestionKind.NUMBER),
        ),
    ),
]


def _org_names(slugs) -> list[str]:
    by_slug = {org.slug: org.name for org in SAMPLE_ORGS}
    return [by_slug[slug] for slug in slugs if slug in by_slug]


def seed_menus() -> list[Menu]:
    menus = []
    for spec in MENUS:
        menu, _created = Menu.objects.update_or_create(
            number=spec.number,
            defaults={
                "name": spec.name,
                "summary": spec.summary,
                "functions": list(spec.functions),
                "eligible_kinds": [str(k) for k in spec.kinds],
                "slots_per_year": spec.slots,
                "status": MenuStatus.TRIAL,
            },
        )
        menu.partners.set(Organisation.objects.filter(name__in=_org_names(spec.partners)))
        for purpose, questions in (
            (QuestionPurpose.APPLICATION, spec.application),
            (QuestionPurpose.OUTCOME, spec.outcome),
        ):
            for order, q in enumerate(questions, start=1):
                MenuQuestion.objects.update_or_create(
                    menu=menu,
                    purpose=purpose,
                    key=q.key,
                    defaults={
                        "order": order,
                        "text": q.text,
                        "kind": q.kind,
                        "required": q.required,
                        "choices": list(q.choices),
                        "help_text": q.help_text,
                    },
                )
        menus.append(menu)
    return menus


def seed_partner_account() -> User:
    """partner@example.org: staff of the フードバンク連絡会, which delivers ⑦."""
    organisation = Organisation.objects.get(name=_org_names([PARTNER_ORG])[0])
    user = User.objects.filter(email=PARTNER).first() or User(email=PARTNER)
    user.full_name = "木村 あおい"
    user.full_name_kana = "きむら あおい"
    user.is_active = True
    user.set_password(DEMO_PASSWORD)
    user.save()
    Membership.objects.get_or_create(user=user, organisation=organisation)
    return user


def _demo_application(menu, organisation, by, need, **extra):
    existing = Application.objects.filter(menu=menu, organisation=organisation, need=need).first()
    if existing is not None:
        return existing, False
    return (
        services.submit_application(
            menu=menu,
            organisation=organisation,
            by=by,
            need=need,
            contact_name=by.full_name,
            contact_email=by.email,
            **extra,
        ),
        True,
    )


@transaction.atomic
def seed_support() -> str:
    menus = {menu.number: menu for menu in seed_menus()}
    partner_user = seed_partner_account()
    secretariat = User.objects.get(email=SECRETARIAT)
    npo = User.objects.get(email=NPO)
    npo_org = npo.memberships.select_related("organisation").first().organisation
    partner_org = partner_user.memberships.get().organisation

    # ⑦: applied, accepted, two sessions, completed (the follow-up survey goes out).
    food, created = _demo_application(
        menus[7],
        npo_org,
        npo,
        "相談窓口に来た方へ、その日のうちに食料を渡せる仕組みをつくりたい。"
        "近くのフードバンクとの連絡の取り方から相談したい。",
        answers={"households": 12},
    )
    if created:
        # Applied a month ago, so its sessions fall after the application.
        Application.objects.filter(pk=food.pk).update(
            submitted_at=food.submitted_at - datetime.timedelta(days=30)
        )
        food.refresh_from_db()
        engagement = services.accept_application(
            application=food, partner=partner_org, coordinator=secretariat, by=secretariat
        )
        today = timezone.localdate()
        for days_ago, minutes, mode, done, hours, coordination in (
            (
                20,
                90,
                SessionMode.VISIT,
                "窓口の流れを一緒に確認し、食料の受け渡し手順を決めた。",
                Decimal("3"),
                Decimal("1"),
            ),
            (
                6,
                60,
                SessionMode.ONLINE,
                "フードバンクとの月1回の連絡会を始めた。次回は在庫の共有方法。",
                Decimal("1.5"),
                Decimal("0.5"),
            ),
        ):
            services.record_session(
                engagement=engagement,
                by=partner_user,
                held_on=today - datetime.timedelta(days=days_ago),
                duration_minutes=minutes,
                mode=mode,
                done=done,
                partner_hours=hours,
                secretariat_hours=coordination,
            )
        services.complete_engagement(
            engagement=engagement,
            by=partner_user,
            outcome_answers={"links_made": 2, "deliveries": 9},
            outcome_text="窓口で当日に食料を渡せるようになった。連絡会は続ける。",
        )
    # ③: waiting for the secretariat's decision.
    _demo_application(
        menus[3],
        npo_org,
        npo,
        "冬の間に住まいを失いそうな相談が続いている。管内を越えて一時的な住まいを調整したい。",
    )
    return _(
        "後方支援メニュー %(menus)d件、利用申込 %(applications)d件（協力団体のデモアカウント: %(partner)s）"
    ) % {
        "menus": len(menus),
        "applications": Application.objects.count(),
        "partner": PARTNER,
    }
