"""Data tables for `manage.py seed_demo` (demo and development only).

Real public bodies (the 35 市, the 14 振興局, 厚生労働省) and the NPO that ran
the seed project are named as they are; their department names are plausible
approximations, not a directory. Every 受託団体 / 支援団体 / other organisation
below is INVENTED and seeded with `is_sample=True`. All e-mail addresses are
under example.org; no phone numbers are invented.

Each organisation has a stable ASCII `slug` used only to build deterministic
staff e-mail addresses, so re-running the seed finds the same people even when
rows are added to these tables later.
"""

import zlib
from dataclasses import dataclass, field

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.translation import gettext as _

from core.dates import current_fiscal_year

from .models import (
    Commission,
    Membership,
    Municipality,
    Organisation,
    Program,
    Region,
    User,
)
from .permissions import grant_secretariat_permissions

DEMO_PASSWORD = "tsunagari-demo"

# The demo data reproduces the seed project's year: 令和3年度.
SEED_FISCAL_YEAR = 2021

# Programs a 自治体 commissions (住居確保給付金 is paid by the 自治体 itself and
# 認定就労訓練 is a certification, not a commission).
COMMISSIONABLE_PROGRAMS = {
    "jiritsu_sodan",
    "shuro_junbi",
    "kakei_kaizen",
    "kyoju_shien",
    "kodomo_gakushu",
    "sonota",
}

# Every 福祉事務所設置自治体 is responsible for the two mandatory programs.
MUNICIPAL_PROGRAMS = ["jiritsu_sodan", "jukyo_kakuho"]

# --- 自治体: 35 市 --------------------------------------------------------------

# (department, department kana, section, section kana), keyed by 団体コード.
# Cities not listed get one of DEFAULT_CITY_SECTIONS, chosen by code.
CITY_SECTIONS = {
    "011002": (
        "保健福祉局 総務部",
        "ほけんふくしきょく そうむぶ",
        "保護自立支援課",
        "ほごじりつしえんか",
    ),
    "012025": ("保健福祉部", "ほけんふくしぶ", "生活支援第1課", "せいかつしえんだいいっか"),
    "012033": ("福祉保険部", "ふくしほけんぶ", "生活支援第一課", "せいかつしえんだいいっか"),
    "012041": ("福祉保険部", "ふくしほけんぶ", "生活支援課", "せいかつしえんか"),
    "012068": (
        "福祉部",
        "ふくしぶ",
        "生活福祉事務所 自立支援担当",
        "せいかつふくしじむしょ じりつしえんたんとう",
    ),
    "012076": (
        "市民福祉部 生活福祉室",
        "しみんふくしぶ せいかつふくししつ",
        "生活支援第一課",
        "せいかつしえんだいいっか",
    ),
    "012131": (
        "福祉部",
        "ふくしぶ",
        "生活支援室 自立支援担当",
        "せいかつしえんしつ じりつしえんたんとう",
    ),
    "012173": ("健康福祉部", "けんこうふくしぶ", "生活支援課", "せいかつしえんか"),
}
DEFAULT_CITY_SECTIONS = [
    ("保健福祉部", "ほけんふくしぶ", "生活支援課", "せいかつしえんか"),
    ("福祉部", "ふくしぶ", "地域福祉課", "ちいきふくしか"),
    ("健康福祉部", "けんこうふくしぶ", "社会福祉課", "しゃかいふくしか"),
    ("市民福祉部", "しみんふくしぶ", "生活福祉課", "せいかつふくしか"),
    ("保健福祉部", "ほけんふくしぶ", "福祉課 自立支援係", "ふくしか じりつしえんがかり"),
]


def city_section(code: str) -> tuple[str, str, str, str]:
    if code in CITY_SECTIONS:
        return CITY_SECTIONS[code]
    return DEFAULT_CITY_SECTIONS[int(code) % len(DEFAULT_CITY_SECTIONS)]


# --- 自治体: the 14 振興局 社会福祉課 as units of 北海道 ------------------------

REGION_SLUGS = {
    "空知総合振興局": "sorachi",
    "石狩振興局": "ishikari",
    "後志総合振興局": "shiribeshi",
    "胆振総合振興局": "iburi",
    "日高振興局": "hidaka",
    "渡島総合振興局": "oshima",
    "檜山振興局": "hiyama",
    "上川総合振興局": "kamikawa",
    "留萌振興局": "rumoi",
    "宗谷総合振興局": "soya",
    "オホーツク総合振興局": "okhotsk",
    "十勝総合振興局": "tokachi",
    "釧路総合振興局": "kushiro",
    "根室振興局": "nemuro",
}
REGION_KIND_KANA = {"総合振興局": "そうごうしんこうきょく", "振興局": "しんこうきょく"}


def region_unit_name(region_name: str) -> str:
    return f"北海道 {region_name} 保健環境部 社会福祉課"


def region_unit_kana(region_kana: str, region_kind: str) -> str:
    kind_kana = REGION_KIND_KANA.get(region_kind, "しんこうきょく")
    return f"ほっかいどう {region_kana}{kind_kana} ほけんかんきょうぶ しゃかいふくしか"


# --- Other real bodies -----------------------------------------------------------

MHLW = {
    "slug": "mhlw",
    "name": "厚生労働省 社会・援護局 地域福祉課 生活困窮者自立支援室",
    "kana": "こうせいろうどうしょう しゃかい・えんごきょく ちいきふくしか せいかつこんきゅうしゃじりつしえんしつ",
}

# The NPO that ran the seed project (続・後方支援プロジェクト) and its secretariat.
SECRETARIAT_ORG = {
    "slug": "cwrpc",
    "name": "特定非営利活動法人コミュニティワーク研究実践センター",
    "kana": "こみゅにてぃわーくけんきゅうじっせんせんたー",
    "city": "札幌市",
    "description": (
        "「続・後方支援プロジェクト」の実施主体。北海道生活困窮者ネットワークの事務局を務めます。"
    ),
}


# --- Invented 受託団体 / 支援団体 / その他 ------------------------------------------


@dataclass(frozen=True)
class SampleOrg:
    slug: str
    name: str
    kana: str
    kind: str  # contractor / support / other
    city: str  # 市町村名 where it is based
    programs: tuple[str, ...] = ()
    # Commissioning 自治体: a 市 name ("札幌市") or a Region name ("根室振興局").
    commissioners: tuple[str, ...] = field(default=())
    staff: int = 2


CON, SUP, OTH = "contractor", "support", "other"

# fmt: off
SAMPLE_ORGS = [
    # --- 石狩 (札幌・江別・千歳・恵庭・北広島・石狩)
    SampleOrg("kurashi-sapporo", "特定非営利活動法人 くらしサポートさっぽろ", "くらしさぽーとさっぽろ",
              CON, "札幌市", ("jiritsu_sodan", "kakei_kaizen", "jukyo_kakuho"), ("札幌市",), staff=3),
    SampleOrg("hamanasu-shigoto", "社会福祉法人 はまなす会 しごと準備センター", "はまなすかい しごとじゅんびせんたー",
              CON, "札幌市", ("shuro_junbi", "nintei_shuro_kunren"), ("札幌市",)),
    SampleOrg("manabi-sapporo", "一般社団法人 さっぽろ学びの広場", "さっぽろまなびのひろば",
              CON, "札幌市", ("kodomo_gakushu",), ("札幌市",)),
    SampleOrg("sumai-hot", "特定非営利活動法人 住まいと暮らしの窓口ほっと", "すまいとくらしのまどぐちほっと",
              CON, "札幌市", ("kyoju_shien",), ("札幌市",)),
    SampleOrg("ebetsu-nopporo", "社会福祉法人 えべつ野幌福祉会", "えべつのっぽろふくしかい",
              CON, "江別市", ("jiritsu_sodan", "kakei_kaizen"), ("江別市",)),
    SampleOrg("chitose-sodan", "一般社団法人 ちとせ生活相談支援センター", "ちとせせいかつそうだんしえんせんたー",
              CON, "千歳市", ("jiritsu_sodan", "shuro_junbi"), ("千歳市", "恵庭市")),
    SampleOrg("kitahiroshima-sodan", "特定非営利活動法人 きたひろしま暮らしの相談室", "きたひろしまくらしのそうだんしつ",
              CON, "北広島市", ("jiritsu_sodan", "kakei_kaizen"), ("北広島市",)),
    SampleOrg("ishikari-kodomo", "一般社団法人 いしかり子ども応援ネット", "いしかりこどもおうえんねっと",
              CON, "石狩市", ("kodomo_gakushu",), ("石狩市", "石狩振興局")),
    # --- 渡島・檜山
    SampleOrg("hakodate-sodan", "特定非営利活動法人 はこだて生活相談室", "はこだてせいかつそうだんしつ",
              CON, "函館市", ("jiritsu_sodan", "kakei_kaizen"), ("函館市",)),
    SampleOrg("minami-kodomo", "一般社団法人 みなみ北海道こども未来塾", "みなみほっかいどうこどもみらいじゅく",
              CON, "函館市", ("kodomo_gakushu",), ("函館市", "北斗市")),
    SampleOrg("oshima-nanbu", "特定非営利活動法人 おしま南部くらしネット", "おしまなんぶくらしねっと",
              CON, "七飯町", ("jiritsu_sodan",), ("渡島総合振興局",)),
    SampleOrg("hiyama-sodan", "一般社団法人 ひやま生活相談センター", "ひやませいかつそうだんせんたー",
              CON, "江差町", ("jiritsu_sodan",), ("檜山振興局",)),
    # --- 後志
    SampleOrg("otaru-unga", "社会福祉法人 おたる運河福祉会", "おたるうんがふくしかい",
              CON, "小樽市", ("jiritsu_sodan", "shuro_junbi"), ("小樽市",)),
    SampleOrg("shiribeshi-sodan", "特定非営利活動法人 しりべし生活支援センター", "しりべしせいかつしえんせんたー",
              CON, "倶知安町", ("jiritsu_sodan", "kakei_kaizen"), ("後志総合振興局",)),
    # --- 空知
    SampleOrg("sorachi-fukushi", "社会福祉法人 そらち福祉会", "そらちふくしかい",
              CON, "岩見沢市", ("jiritsu_sodan", "kakei_kaizen"), ("岩見沢市", "美唄市", "三笠市", "空知総合振興局"), staff=3),
    SampleOrg("sorachi-kodomo", "一般社団法人 そらち子ども学習会", "そらちこどもがくしゅうかい",
              CON, "岩見沢市", ("kodomo_gakushu",), ("岩見沢市",)),
    SampleOrg("nakasorachi", "特定非営利活動法人 なかそらち相談ネット", "なかそらちそうだんねっと",
              CON, "滝川市", ("jiritsu_sodan",), ("滝川市", "砂川市", "歌志内市", "赤平市", "芦別市", "深川市")),
    SampleOrg("yubari-sodan", "一般社団法人 ゆうばり暮らしの相談所", "ゆうばりくらしのそうだんじょ",
              CON, "夕張市", ("jiritsu_sodan",), ("夕張市",)),
    # --- 上川
    SampleOrg("asahikawa-net", "特定非営利活動法人 あさひかわ暮らしネット", "あさひかわくらしねっと",
              CON, "旭川市", ("jiritsu_sodan", "kakei_kaizen", "shuro_junbi"), ("旭川市",), staff=3),
    SampleOrg("kamikawa-gakushu", "一般社団法人 かみかわ学習支援センター", "かみかわがくしゅうしえんせんたー",
              CON, "旭川市", ("kodomo_gakushu",), ("旭川市", "上川総合振興局")),
    SampleOrg("nayoro-shibetsu", "特定非営利活動法人 なよろ・しべつ生活支援センター", "なよろしべつせいかつしえんせんたー",
              CON, "名寄市", ("jiritsu_sodan",), ("名寄市", "士別市")),
    SampleOrg("furano-biei", "一般社団法人 ふらの・びえい暮らしサポート", "ふらのびえいくらしさぽーと",
              CON, "富良野市", ("jiritsu_sodan",), ("富良野市",)),
    # --- 留萌・宗谷
    SampleOrg("rumoi-station", "特定非営利活動法人 るもい生活相談ステーション", "るもいせいかつそうだんすてーしょん",
              CON, "留萌市", ("jiritsu_sodan",), ("留萌市", "留萌振興局")),
    SampleOrg("wakkanai-ouen", "特定非営利活動法人 わっかない暮らし応援団", "わっかないくらしおうえんだん",
              CON, "稚内市", ("jiritsu_sodan",), ("稚内市", "宗谷総合振興局")),
    # --- オホーツク
    SampleOrg("okhotsk-sodan", "特定非営利活動法人 オホーツクくらし相談センター", "おほーつくくらしそうだんせんたー",
              CON, "北見市", ("jiritsu_sodan",), ("北見市", "網走市", "オホーツク総合振興局")),
    SampleOrg("monbetsu-sodan", "特定非営利活動法人 もんべつ生活支援センター", "もんべつせいかつしえんせんたー",
              CON, "紋別市", ("jiritsu_sodan",), ("紋別市",)),
    # --- 胆振・日高
    SampleOrg("muroran-net", "特定非営利活動法人 むろらん生活支援ネットワーク", "むろらんせいかつしえんねっとわーく",
              CON, "室蘭市", ("jiritsu_sodan",), ("室蘭市", "登別市")),
    SampleOrg("tomakomai-step", "特定非営利活動法人 とまこまい就労ステップ", "とまこまいしゅうろうすてっぷ",
              CON, "苫小牧市", ("jiritsu_sodan", "shuro_junbi"), ("苫小牧市",)),
    SampleOrg("tomakomai-kodomo", "一般社団法人 とまこまい子ども未来ネット", "とまこまいこどもみらいねっと",
              CON, "苫小牧市", ("kodomo_gakushu",), ("苫小牧市",)),
    SampleOrg("date-gakushu", "特定非営利活動法人 だて・にしいぶり学習支援の会", "だてにしいぶりがくしゅうしえんのかい",
              CON, "伊達市", ("kodomo_gakushu",), ("伊達市", "胆振総合振興局")),
    SampleOrg("hidaka-madoguchi", "特定非営利活動法人 ひだか暮らしの窓口", "ひだかくらしのまどぐち",
              CON, "浦河町", ("jiritsu_sodan",), ("日高振興局",)),
    # --- 十勝
    SampleOrg("tokachi-support", "一般社団法人 とかち生活サポートセンター", "とかちせいかつさぽーとせんたー",
              CON, "帯広市", ("jiritsu_sodan", "shuro_junbi", "kakei_kaizen"), ("帯広市", "十勝総合振興局"), staff=3),
    SampleOrg("tokachi-manabi", "特定非営利活動法人 とかち学びの家", "とかちまなびのいえ",
              CON, "帯広市", ("kodomo_gakushu",), ("帯広市",)),
    # --- 釧路・根室
    SampleOrg("kushiro-shitsugen", "社会福祉法人 くしろ湿原福祉会", "くしろしつげんふくしかい",
              CON, "釧路市", ("jiritsu_sodan", "kakei_kaizen"), ("釧路市",)),
    SampleOrg("kushiro-kodomo", "特定非営利活動法人 くしろこども食堂ネット", "くしろこどもしょくどうねっと",
              CON, "釧路市", ("kodomo_gakushu",), ("釧路市",)),
    SampleOrg("kushiro-toubu", "特定非営利活動法人 くしろ東部こども学習会", "くしろとうぶこどもがくしゅうかい",
              CON, "釧路町", ("kodomo_gakushu",), ("釧路総合振興局",)),
    SampleOrg("nemuro-kaikyo", "特定非営利活動法人 ねむろ海峡ネット", "ねむろかいきょうねっと",
              CON, "根室市", ("jiritsu_sodan", "kakei_kaizen"), ("根室市", "根室振興局")),
    # --- 支援団体 (not commissioned)
    SampleOrg("foodbank-renraku", "特定非営利活動法人 ほっかいどうフードバンク連絡会", "ほっかいどうふーどばんくれんらくかい",
              SUP, "札幌市", ("sonota",)),
    SampleOrg("hikikomori-kazoku", "一般社団法人 北海道ひきこもり家族の会ネット", "ほっかいどうひきこもりかぞくのかいねっと",
              SUP, "札幌市", ("sonota",)),
    SampleOrg("kita-sumai", "特定非営利活動法人 北の住まいサポート", "きたのすまいさぽーと",
              SUP, "札幌市", ("kyoju_shien",)),
    SampleOrg("tabunka", "特定非営利活動法人 北海道多文化共生サポート", "ほっかいどうたぶんかきょうせいさぽーと",
              SUP, "札幌市", (), staff=1),
    SampleOrg("hakodate-shokudo", "特定非営利活動法人 はこだてこども食堂ネットワーク", "はこだてこどもしょくどうねっとわーく",
              SUP, "函館市", ("kodomo_gakushu",)),
    SampleOrg("asahikawa-wakamono", "一般社団法人 あさひかわ若者サポート連絡会", "あさひかわわかものさぽーとれんらくかい",
              SUP, "旭川市", ("shuro_junbi",)),
    SampleOrg("otaru-shuro", "特定非営利活動法人 おたる若者就労応援団", "おたるわかものしゅうろうおうえんだん",
              SUP, "小樽市", ("shuro_junbi",), staff=1),
    SampleOrg("tokachi-foodshare", "特定非営利活動法人 とかちフードシェア", "とかちふーどしぇあ",
              SUP, "帯広市", ("sonota",), staff=1),
    SampleOrg("kushiro-shelter", "特定非営利活動法人 くしろシェルターネット", "くしろしぇるたーねっと",
              SUP, "釧路市", ("kyoju_shien",)),
    SampleOrg("kitami-kakei", "一般社団法人 きたみ家計相談ネット", "きたみかけいそうだんねっと",
              SUP, "北見市", ("kakei_kaizen",), staff=1),
    # --- その他
    SampleOrg("chiiki-fukushi-ken", "一般社団法人 北海道地域福祉研究所", "ほっかいどうちいきふくしけんきゅうじょ",
              OTH, "札幌市", (), staff=1),
    SampleOrg("kitanodaichi-law", "北の大地法律事務所", "きたのだいちほうりつじむしょ",
              OTH, "旭川市", (), staff=1),
]
# fmt: on

# The 受託団体 the npo@ and npo-admin@ demo accounts belong to.
DEMO_CONTRACTOR_SLUG = "kurashi-sapporo"


# --- People ---------------------------------------------------------------------

# Generated staff names: (kanji, kana). Picked by a hash of the e-mail address,
# so a person keeps the same name whatever order the tables are in.
# fmt: off
SURNAMES = [
    ("佐々木", "ささき"), ("高橋", "たかはし"), ("鈴木", "すずき"), ("田中", "たなか"),
    ("伊藤", "いとう"), ("渡辺", "わたなべ"), ("山本", "やまもと"), ("中村", "なかむら"),
    ("小林", "こばやし"), ("加藤", "かとう"), ("吉田", "よしだ"), ("山田", "やまだ"),
    ("山口", "やまぐち"), ("松本", "まつもと"), ("井上", "いのうえ"), ("木村", "きむら"),
    ("林", "はやし"), ("斎藤", "さいとう"), ("清水", "しみず"), ("工藤", "くどう"),
    ("菅原", "すがわら"), ("三浦", "みうら"), ("阿部", "あべ"), ("村上", "むらかみ"),
    ("石川", "いしかわ"), ("藤田", "ふじた"), ("後藤", "ごとう"), ("岡田", "おかだ"),
]
GIVEN_NAMES = [
    ("健太", "けんた"), ("陽子", "ようこ"), ("大輔", "だいすけ"), ("恵", "めぐみ"),
    ("直樹", "なおき"), ("裕子", "ゆうこ"), ("翔", "しょう"), ("真由美", "まゆみ"),
    ("拓也", "たくや"), ("千尋", "ちひろ"), ("浩二", "こうじ"), ("彩", "あや"),
    ("亮", "りょう"), ("智子", "ともこ"), ("聡", "さとし"), ("舞", "まい"),
    ("隆", "たかし"), ("香織", "かおり"), ("和也", "かずや"), ("明美", "あけみ"),
]
# fmt: on

# Staff roles by organisation kind, assigned in order to an organisation's staff.
STAFF_ROLES_BY_KIND = {
    "municipality": ["gyosei", "gyosei"],
    "government": ["gyosei", "gyosei"],
    "contractor": ["shunin_sodan", "sodan", "shuro", "kakei_kaizen"],
    "support": ["manager", "other"],
    "other": ["other"],
}
EXPERIENCE_CYCLE = ["1to3", "lt1", "3to5", "5to10", "gte10"]


@dataclass(frozen=True)
class DemoAccount:
    email: str
    full_name: str
    full_name_kana: str
    superuser: bool = False
    groups: tuple[str, ...] = ()
    # Membership: which organisation ("secretariat", "committee-region",
    # "sapporo-city", "contractor") and how.
    organisation: str | None = None
    staff_role: str = "other"
    experience: str = "3to5"
    is_org_admin: bool = False


DEMO_ACCOUNTS = [
    DemoAccount("admin@example.org", "高田 誠", "たかだ まこと", superuser=True),
    DemoAccount(
        "secretariat@example.org",
        "森 さくら",
        "もり さくら",
        groups=("secretariat",),
        organisation="secretariat",
        staff_role="manager",
        experience="5to10",
        is_org_admin=True,
    ),
    DemoAccount(
        "committee@example.org",
        "北川 直人",
        "きたがわ なおと",
        groups=("committee",),
        organisation="committee-region",
        staff_role="gyosei",
        experience="5to10",
    ),
    DemoAccount(
        "city@example.org",
        "小野 由紀",
        "おの ゆき",
        organisation="sapporo-city",
        staff_role="gyosei",
        experience="1to3",
    ),
    DemoAccount(
        "npo@example.org",
        "野口 美咲",
        "のぐち みさき",
        organisation="contractor",
        staff_role="sodan",
        experience="1to3",
    ),
    DemoAccount(
        "npo-admin@example.org",
        "中島 健一",
        "なかじま けんいち",
        organisation="contractor",
        staff_role="shunin_sodan",
        experience="gte10",
        is_org_admin=True,
    ),
]
# The committee chair in the seed is from 根室振興局 保健環境部 社会福祉課.
COMMITTEE_REGION = "根室振興局"


# --- seeding: the network's part of `seed_demo` ------------------------------------
# Every row is looked up by a natural key (organisation name + municipality,
# e-mail, the membership pair, the commission tuple), so running it twice leaves
# the same counts.


@dataclass
class Seeded:
    """What the organisation step made, for the steps after it."""

    city_orgs: dict = field(default_factory=dict)  # 市名 -> Organisation
    region_orgs: dict = field(default_factory=dict)  # Region name -> Organisation
    sample_orgs: dict = field(default_factory=dict)  # slug -> Organisation
    secretariat_org: Organisation | None = None
    government_org: Organisation | None = None
    # (Organisation, slug, how many) for every organisation given generated staff.
    staffed: list = field(default_factory=list)


# --- bulk upserts by natural key ------------------------------------------------
# The demo data is a few hundred rows; looking each one up separately would
# cost thousands of queries per run (and per test that seeds). These helpers
# read the existing rows once and write only what is missing or changed.


def upsert_organisations(rows: list[dict]) -> list[Organisation]:
    """Create or update organisations keyed by (name, municipality); rows use
    `municipality_id` / `region_id`. Returns the organisations in row order."""
    existing = {
        (org.name, org.municipality_id): org
        for org in Organisation.objects.filter(name__in={row["name"] for row in rows})
    }
    result, to_create, to_update = [], [], []
    fields = sorted({key for row in rows for key in row} - {"name", "municipality_id"})
    for row in rows:
        org = existing.get((row["name"], row["municipality_id"]))
        if org is None:
            org = Organisation(**row)
            to_create.append(org)
        elif any(getattr(org, key) != value for key, value in row.items()):
            for key, value in row.items():
                setattr(org, key, value)
            to_update.append(org)
        result.append(org)
    Organisation.objects.bulk_create(to_create)
    if to_update:
        Organisation.objects.bulk_update(to_update, fields)
    return result


def set_programs(wanted: dict[int, set[int]]) -> None:
    """Make each organisation's programs exactly the given program ids."""
    through = Organisation.programs.through
    current = {
        (org_id, program_id): pk
        for pk, org_id, program_id in through.objects.filter(
            organisation_id__in=wanted
        ).values_list("pk", "organisation_id", "program_id")
    }
    pairs = {(org_id, program_id) for org_id, ids in wanted.items() for program_id in ids}
    stale = [pk for pair, pk in current.items() if pair not in pairs]
    if stale:
        through.objects.filter(pk__in=stale).delete()
    through.objects.bulk_create(
        [through(organisation_id=o, program_id=p) for o, p in sorted(pairs - current.keys())]
    )


def ensure_contacts(emails: list[str]) -> dict[str, User]:
    """Staff known to the network who have not set a password (contacts).
    Existing users are left as they are: someone may have claimed the account."""
    users = {user.email: user for user in User.objects.filter(email__in=emails)}
    new = []
    for email in emails:
        if email not in users:
            full_name, kana = _staff_name(email)
            user = User(email=email, full_name=full_name, full_name_kana=kana)
            user.set_unusable_password()
            users[email] = user
            new.append(user)
    User.objects.bulk_create(new)
    return users


def _staff_name(email: str) -> tuple[str, str]:
    h = zlib.crc32(email.encode())
    surname, surname_kana = SURNAMES[h % len(SURNAMES)]
    given, given_kana = GIVEN_NAMES[(h // len(SURNAMES)) % len(GIVEN_NAMES)]
    return f"{surname} {given}", f"{surname_kana} {given_kana}"


# --- organisations --------------------------------------------------------------


def seed_municipal_organisations(result: Seeded) -> None:
    """35 市 welfare sections and the 14 振興局 社会福祉課 (units of 北海道)."""
    cities = list(Municipality.objects.filter(kind=Municipality.Kind.CITY))
    regions = list(Region.objects.all())
    rows = []
    for city in cities:
        dept, dept_kana, section, section_kana = city_section(city.code)
        rows.append(
            {
                "name": f"{city.name} {dept} {section}",
                "municipality_id": city.pk,
                "kana": f"{city.kana} {dept_kana} {section_kana}",
                "kind": Organisation.Kind.MUNICIPALITY,
                "region_id": city.region_id,
                "email": f"city-{city.code}@example.org",
                "address": f"北海道{city.name}",
                "is_sample": False,
                "is_active": True,
            }
        )
    for region in regions:
        rows.append(
            {
                "name": region_unit_name(region.name),
                "municipality_id": None,
                "kana": region_unit_kana(region.kana, region.kind),
                "kind": Organisation.Kind.MUNICIPALITY,
                "region_id": region.pk,
                "email": f"{REGION_SLUGS[region.name]}-fukushi@example.org",
                "address": f"北海道{region.seat}",
                "description": _("%(region)s管内の町村を所管する北海道の福祉事務所です。")
                % {"region": region.name},
                "is_sample": False,
                "is_active": True,
            }
        )
    orgs = upsert_organisations(rows)
    for city, org in zip(cities, orgs[: len(cities)], strict=True):
        result.city_orgs[city.name] = org
        result.staffed.append((org, city.code, 2))
    for region, org in zip(regions, orgs[len(cities) :], strict=True):
        result.region_orgs[region.name] = org
        result.staffed.append((org, REGION_SLUGS[region.name], 2))
    program_ids = set(
        Program.objects.filter(key__in=MUNICIPAL_PROGRAMS).values_list("pk", flat=True)
    )
    set_programs({org.pk: program_ids for org in orgs})


def seed_other_organisations(result: Seeded) -> None:
    """厚生労働省, the secretariat NPO, and the invented sample organisations."""
    municipalities = {m.name: m for m in Municipality.objects.all()}
    programs = {p.key: p for p in Program.objects.all()}
    secretariat_city = municipalities[SECRETARIAT_ORG["city"]]
    rows = [
        {
            "name": MHLW["name"],
            "municipality_id": None,
            "kana": MHLW["kana"],
            "kind": Organisation.Kind.GOVERNMENT,
            "region_id": None,
            "email": f"{MHLW['slug']}@example.org",
            "is_sample": False,
            "is_active": True,
        },
        {
            "name": SECRETARIAT_ORG["name"],
            "municipality_id": secretariat_city.pk,
            "kana": SECRETARIAT_ORG["kana"],
            "kind": Organisation.Kind.SUPPORT,
            "region_id": secretariat_city.region_id,
            "email": f"{SECRETARIAT_ORG['slug']}@example.org",
            "description": SECRETARIAT_ORG["description"],
            "is_sample": False,
            "is_active": True,
        },
    ]
    for spec in SAMPLE_ORGS:
        muni = municipalities[spec.city]
        names = "・".join(programs[key].common_name for key in spec.programs)
        if names:
            description = _(
                "%(city)sを拠点に%(programs)sを行っています。（デモ用の架空の団体です）"
            ) % {"city": muni.name, "programs": names}
        else:
            description = _("%(city)sを拠点に活動しています。（デモ用の架空の団体です）") % {
                "city": muni.name
            }
        rows.append(
            {
                "name": spec.name,
                "municipality_id": muni.pk,
                "kana": spec.kana,
                "kind": spec.kind,
                "region_id": muni.region_id,
                "email": f"{spec.slug}@example.org",
                "address": f"北海道{muni.name}",
                "description": description,
                "is_sample": True,
                "is_active": True,
            }
        )
    government, secretariat, *samples = upsert_organisations(rows)
    result.government_org = government
    result.secretariat_org = secretariat
    result.staffed.append((government, MHLW["slug"], 2))
    result.staffed.append((secretariat, SECRETARIAT_ORG["slug"], 2))
    wanted_programs = {}
    for spec, org in zip(SAMPLE_ORGS, samples, strict=True):
        result.sample_orgs[spec.slug] = org
        result.staffed.append((org, spec.slug, spec.staff))
        wanted_programs[org.pk] = {programs[key].pk for key in spec.programs}
    set_programs(wanted_programs)


def seed_commissions(result: Seeded) -> None:
    """Each 受託団体 is commissioned by its 自治体 in FY2021 and the current FY."""
    programs = {p.key: p.pk for p in Program.objects.all()}
    years = sorted({SEED_FISCAL_YEAR, current_fiscal_year()})
    wanted = set()
    for spec in SAMPLE_ORGS:
        contractor = result.sample_orgs[spec.slug]
        for ref in spec.commissioners:
            commissioner = result.city_orgs.get(ref) or result.region_orgs[ref]
            for key in spec.programs:
                if key in COMMISSIONABLE_PROGRAMS:
                    for year in years:
                        wanted.add((contractor.pk, commissioner.pk, programs[key], year))
    existing = set(
        Commission.objects.filter(contractor_id__in={c for c, *_rest in wanted}).values_list(
            "contractor_id", "commissioner_id", "program_id", "fiscal_year"
        )
    )
    Commission.objects.bulk_create(
        [
            Commission(contractor_id=c, commissioner_id=m, program_id=p, fiscal_year=y)
            for c, m, p, y in sorted(wanted - existing)
        ]
    )


def seed_organisations() -> Seeded:
    result = Seeded()
    seed_municipal_organisations(result)
    seed_other_organisations(result)
    seed_commissions(result)
    return result


# --- people -----------------------------------------------------------------------


def seed_people(result: Seeded) -> None:
    """A few staff (contacts) per organisation: staff-<org>-<n>@example.org."""
    plan = [
        (org, f"staff-{slug}-{i + 1}@example.org", i)
        for org, slug, count in result.staffed
        for i in range(count)
    ]
    users = ensure_contacts([email for _org, email, _i in plan])
    existing = set(
        Membership.objects.filter(user__in=users.values()).values_list("user_id", "organisation_id")
    )
    new = []
    for org, email, i in plan:
        user = users[email]
        if (user.pk, org.pk) in existing:
            continue
        roles = STAFF_ROLES_BY_KIND[org.kind]
        new.append(
            Membership(
                user=user,
                organisation=org,
                staff_role=roles[i % len(roles)],
                experience=EXPERIENCE_CYCLE[zlib.crc32(email.encode()) % len(EXPERIENCE_CYCLE)],
                # The first staff member of a 受託団体 or 支援団体 keeps its profile.
                is_org_admin=i == 0 and org.kind in ("contractor", "support"),
            )
        )
    Membership.objects.bulk_create(new)


def seed_secretariat_permissions() -> None:
    """The secretariat group's admin permissions, as migration 0003 sets them
    in production: the named set of network/permissions.py (imports and
    exports of organisations and memberships), never users or groups."""
    grant_secretariat_permissions(Group=Group, Permission=Permission)


def seed_accounts(result: Seeded) -> list[User]:
    """The six demo accounts of DESIGN §5; re-running resets them, password included."""
    organisations = {
        "secretariat": result.secretariat_org,
        "committee-region": result.region_orgs[COMMITTEE_REGION],
        "sapporo-city": result.city_orgs["札幌市"],
        "contractor": result.sample_orgs[DEMO_CONTRACTOR_SLUG],
    }
    users = []
    for spec in DEMO_ACCOUNTS:
        user = User.objects.filter(email=spec.email).first() or User(email=spec.email)
        user.full_name = spec.full_name
        user.full_name_kana = spec.full_name_kana
        user.is_active = True
        # The secretariat imports organisations and memberships in the admin site.
        user.is_staff = spec.superuser or "secretariat" in spec.groups
        user.is_superuser = spec.superuser
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.groups.set(Group.objects.filter(name__in=spec.groups))
        if spec.organisation:
            organisation = organisations[spec.organisation]
            Membership.objects.update_or_create(
                user=user,
                organisation=organisation,
                defaults={
                    "staff_role": spec.staff_role,
                    "experience": spec.experience,
                    "is_org_admin": spec.is_org_admin,
                },
            )
            # A demo account belongs to exactly its one organisation.
            Membership.objects.filter(user=user).exclude(organisation=organisation).delete()
        else:
            Membership.objects.filter(user=user).delete()
        users.append(user)
    return users


@transaction.atomic
def seed_network() -> list[str]:
    """Organisations, staff, the secretariat's admin permissions and the six
    demo accounts; returns the summary lines."""
    result = seed_organisations()
    seed_people(result)
    seed_secretariat_permissions()
    seed_accounts(result)
    return summary_lines()


def summary_lines() -> list[str]:
    """What seed_network made, for the command's output."""
    orgs = Organisation.objects.all()
    municipal = orgs.filter(kind=Organisation.Kind.MUNICIPALITY)
    lines = [
        _("デモデータを作成しました。"),
        _("自治体: %(total)d（市 %(cities)d・振興局 %(regions)d）")
        % {
            "total": municipal.count(),
            "cities": municipal.filter(municipality__isnull=False).count(),
            "regions": municipal.filter(municipality__isnull=True).count(),
        },
        _(
            "受託団体: %(contractors)d　支援団体: %(support)d　国・関係行政: %(gov)d　その他: %(other)d"
        )
        % {
            "contractors": orgs.filter(kind=Organisation.Kind.CONTRACTOR).count(),
            "support": orgs.filter(kind=Organisation.Kind.SUPPORT).count(),
            "gov": orgs.filter(kind=Organisation.Kind.GOVERNMENT).count(),
            "other": orgs.filter(kind=Organisation.Kind.OTHER).count(),
        },
        _("委託: %(count)d件　ユーザー: %(users)d人　所属: %(memberships)d件")
        % {
            "count": Commission.objects.count(),
            "users": User.objects.count(),
            "memberships": Membership.objects.count(),
        },
        _("デモアカウント（パスワード %(password)s）: %(emails)s")
        % {
            "password": DEMO_PASSWORD,
            "emails": ", ".join(a.email for a in DEMO_ACCOUNTS),
        },
    ]
    return lines
