"""Note part of `manage.py seed_demo` (demo and development only): a few
topics, replies and note entries in several rooms, written through the
services, so the demo texts pass the privacy guard and the rooms' rules like
any member's. Everything is invented; no real person appears.

Idempotent: a topic is found by its room and title, an entry by its title,
and nothing is created twice.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.dates import fiscal_year_of
from events.models import Event
from network.models import Program, User

from . import search, services
from .enums import Function, RoomKind, RoomRole
from .models import NoteEntry, Room, Topic
from .rooms import ensure_default_rooms

SECRETARIAT = "secretariat@example.org"
NPO = "npo@example.org"
NPO_ADMIN = "npo-admin@example.org"
CITY = "city@example.org"
COMMITTEE = "committee@example.org"


@dataclass(frozen=True)
class DemoReply:
    author: str
    body: str
    resolves: bool = False


@dataclass(frozen=True)
class DemoTopic:
    room: tuple  # (kind, program key or role or None)
    author: str
    title: str
    body: str
    anonymous: bool = False
    programs: tuple = ()
    tags: tuple = ()
    replies: tuple = field(default_factory=tuple)


TOPICS = (
    DemoTopic(
        room=(RoomKind.NETWORK, None),
        author=NPO,
        title="家計改善支援の家計表、初回面談でどこまで書いてもらいますか",
        body=(
            "家計改善支援の家計表について、初回の面談でどこまで書いてもらうか迷っています。\n"
            "相談者さんの負担にならない進め方があれば教えてください。"
        ),
        programs=("kakei_kaizen",),
        tags=("家計", "初回面談"),
        replies=(
            DemoReply(
                NPO_ADMIN,
                "初回は収入と固定費だけにして、2回目以降に一緒に埋めています。\n"
                "最初から全部を求めないほうが、面談が続きます。",
                resolves=True,
            ),
            DemoReply(
                CITY,
                "レシートを1週間分持ってきてもらうところから始める事業所もあるようです。",
            ),
        ),
    ),
    DemoTopic(
        room=(RoomKind.NETWORK, None),
        author=NPO,
        title="住居確保給付金の申請で、家主さんとの調整が止まってしまいます",
        body=(
            "申請に必要な書類を家主さんに書いてもらうところで止まってしまうことが続いています。"
            "どのように説明すると協力してもらいやすいでしょうか。"
        ),
        anonymous=True,
        programs=("jukyo_kakuho",),
        tags=("住まい",),
        replies=(
            DemoReply(
                CITY,
                "自治体の担当から家主さんあてに制度の説明文書を出すと進むことがあります。"
                "まず窓口の担当に相談してみてください。",
            ),
        ),
    ),
    DemoTopic(
        room=(RoomKind.ROLE, RoomRole.CHIEF),
        author=NPO_ADMIN,
        title="アウトリーチの最初の訪問で気をつけていること",
        body=(
            "長く外に出ていない方への最初の訪問で、みなさんが気をつけていることを教えてください。\n"
            "- 訪問の前に手紙を出すか\n- 何人で行くか\n- どのくらいの時間にするか"
        ),
        tags=("アウトリーチ", "ひきこもり"),
    ),
    DemoTopic(
        room=(RoomKind.MUNICIPAL, None),
        author=CITY,
        title="委託事業の評価指標、ほかの自治体ではどう決めていますか",
        body=(
            "自立相談支援事業の委託で、評価の指標を見直しています。"
            "件数のほかに、どのような指標を置いているか教えてください。"
        ),
        programs=("jiritsu_sodan",),
        tags=("委託", "評価"),
        replies=(
            DemoReply(
                COMMITTEE,
                "プランの作成数だけでなく、関係機関との連携会議の回数も見ています。",
            ),
        ),
    ),
    DemoTopic(
        room=(RoomKind.PROGRAM, "kakei_kaizen"),
        author=NPO_ADMIN,
        title="フードバンクの利用と家計改善支援を、どうつないでいますか",
        body=(
            "食料の支援をきっかけに来た方に、家計の相談も続けてもらうための工夫を知りたいです。"
            "声のかけ方や、次の面談の約束の仕方など。"
        ),
        programs=("kakei_kaizen",),
        tags=("家計", "フードバンク"),
    ),
)

ENTRIES = (
    {
        "topic": "家計改善支援の家計表、初回面談でどこまで書いてもらいますか",
        "title": "家計表は最初から全部を求めない",
        "summary": (
            "家計改善支援の初回面談では、家計表を全部埋めてもらおうとすると続かないことが多い。\n\n"
            "- 初回は収入と固定費（家賃・光熱費・通信費）だけ\n"
            "- 2回目以降に、レシートを見ながら一緒に埋める\n"
            "- 書けなかったところは責めずに「次に一緒に」と伝える"
        ),
        "programs": ("kakei_kaizen",),
        "functions": (Function.KNOWHOW, Function.TRAINING),
        "tags": ("家計", "初回面談"),
    },
)
# An entry kept from before the board, due for re-review (NOTE_REVIEW_MONTHS).
OLD_ENTRY = {
    "title": "住まいの相談は早めに居住支援の窓口へつなぐ",
    "summary": (
        "家賃の滞納が始まった段階で居住支援の窓口につなぐと、退去の前に選べる手立てが増える。"
        "情報交換会の分科会で多くの事業所から同じ声が出た。"
    ),
    "programs": ("kyoju_shien", "jukyo_kakuho"),
    "functions": (Function.KNOWHOW, Function.RESOURCES),
    "tags": ("住まい",),
    "age_days": 500,
}


def _users() -> dict[str, User]:
    emails = [SECRETARIAT, NPO, NPO_ADMIN, CITY, COMMITTEE]
    return {user.email: user for user in User.objects.filter(email__in=emails)}


def _room(kind, key) -> Room:
    if kind == RoomKind.PROGRAM:
        return Room.objects.get(kind=kind, program__key=key)
    if kind == RoomKind.ROLE:
        return Room.objects.get(kind=kind, role=key)
    return Room.objects.get(kind=kind)


def _programs(keys):
    return list(Program.objects.filter(key__in=keys))


def _seed_topic(spec: DemoTopic, users: dict) -> tuple[Topic, bool]:
    room = _room(*spec.room)
    existing = Topic.objects.filter(room=room, title=spec.title).first()
    if existing:
        return existing, False
    topic = services.post_topic(
        room=room,
        by=users[spec.author],
        title=spec.title,
        body=spec.body,
        programs=_programs(spec.programs),
        tags=spec.tags,
        anonymous=spec.anonymous,
    )
    resolving = []
    for reply_spec in spec.replies:
        reply = services.post_reply(topic=topic, by=users[reply_spec.author], body=reply_spec.body)
        if reply_spec.resolves:
            resolving.append(reply)
    if resolving:
        services.mark_resolution(topic=topic, replies=resolving, by=users[spec.author])
    return topic, True


def _seed_old_entry(curator) -> bool:
    spec = OLD_ENTRY
    if NoteEntry.objects.filter(title=spec["title"]).exists():
        return False
    then = timezone.now() - datetime.timedelta(days=spec["age_days"])
    entry = NoteEntry.objects.create(
        title=spec["title"],
        summary=spec["summary"],
        curator=curator,
        fiscal_year=fiscal_year_of(then),
        reviewed_on=timezone.localdate(then),
        anonymisation_checked=True,
        created_at=then,
        updated_at=then,
    )
    entry.programs.set(_programs(spec["programs"]))
    services._set_functions(entry, spec["functions"])
    services._set_tags(entry, spec["tags"])
    return True


@transaction.atomic
def seed_note() -> str:
    """Rooms, demo topics, replies and entries; returns the summary line."""
    ensure_default_rooms(Room=Room, Program=Program)
    users = _users()
    if len(users) < 5:
        return _("掲示板：デモアカウントがないため作成しませんでした")
    topics = {}
    created = 0
    for spec in TOPICS:
        topic, made = _seed_topic(spec, users)
        topics[spec.title] = topic
        created += made
    secretariat = users[SECRETARIAT]
    entries = 0
    for spec in ENTRIES:
        if NoteEntry.objects.filter(title=spec["title"]).exists():
            continue
        services.curate_entry(
            topic=topics[spec["topic"]],
            by=secretariat,
            title=spec["title"],
            summary=spec["summary"],
            programs=_programs(spec["programs"]),
            functions=spec["functions"],
            tags=spec["tags"],
            anonymisation_checked=True,
        )
        entries += 1
    if _seed_old_entry(secretariat):
        entries += 1
        # Written directly (its dates lie in the past): indexed here.
        search.index_entry(NoteEntry.objects.get(title=OLD_ENTRY["title"]))
    latest = Event.objects.over().order_by("-ends_at").first()
    if latest is not None and not Room.objects.filter(event=latest).exists():
        services.open_meeting_room(event=latest, by=secretariat)
    return _("掲示板：相談 %(topics)d件、ノート %(entries)d件を追加しました") % {
        "topics": created,
        "entries": entries,
    }
