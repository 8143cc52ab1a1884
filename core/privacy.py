"""The privacy guard: rule (3) of the network, "never identify a person in a
case consultation".

`find(text)` returns what in a Japanese free text could identify a person or a
household — phone numbers, postal codes, street addresses, dates of birth, an
exact age next to a specific place or name, マイナンバー-like numbers, e-mail
addresses, a name followed by an honorific, family relations next to a name,
a school or workplace next to a person. The note app calls it before saving
topics, replies, note entries, 事前質問 and need texts, and shows the author
`highlight(text)` so they can rewrite or confirm (docs/note.md).

Pure Python on purpose (stdlib `re` and `unicodedata`, precompiled patterns):
it runs on every save, must be fast (a few ms per paragraph) and must never
send a member's text anywhere. It is a heuristic that asks the author to look
again, not a proof of anonymity: it prefers a false alarm on a number or an
address to a miss, and it knows the ordinary talk of the work (role nouns with
さん, age bands, dates of meetings, 〇〇/A-style masks) well enough not to nag.

Matching runs on an NFKC-normalised copy (full-width digits and letters,
half-width katakana, ㈱, ℡ …) with dash-like characters folded to "-";
every finding is mapped back to offsets in the ORIGINAL text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.db import models
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

__all__ = ["Finding", "FindingKind", "describe", "find", "highlight", "is_clean"]


class FindingKind(models.TextChoices):
    PHONE = "phone", _("電話番号")
    POSTAL_CODE = "postal_code", _("郵便番号")
    ADDRESS = "address", _("住所")
    BIRTH_DATE = "birth_date", _("生年月日")
    AGE_AND_PLACE = "age_place", _("年齢と場所")
    INDIVIDUAL_NUMBER = "individual_number", _("個人番号")
    EMAIL = "email", _("メールアドレス")
    NAME = "name", _("人名")
    FAMILY = "family", _("家族関係")
    SCHOOL_OR_WORKPLACE = "school_work", _("学校・勤務先")


@dataclass(frozen=True)
class Finding:
    """One thing that could identify someone; `start`/`end` index the original text."""

    kind: FindingKind
    start: int
    end: int
    text: str

    @property
    def label(self) -> str:
        return str(self.kind.label)


# --------------------------------------------------------------------------
# Normalisation with an offset map back to the original text
# --------------------------------------------------------------------------

# Dashes people type between digits (IME hyphens, minus, half-width ｰ).
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−﹣ｰ", "-"))
# The long vowel mark only counts as a dash between digits (011ー123…).
_LONG_VOWEL_DASH_RE = re.compile(r"(?<=\d)ー(?=\d)")
# A character with the combining marks after it: NFKC composes ｶﾞ into ガ,
# one output character for two input ones.
_CLUSTER_RE = re.compile(
    "(?s).[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff"
    "\u3099\u309a\uff9e\uff9f\ufe00-\ufe0f\ufe20-\ufe2f]*"
)


def _normalise(text: str) -> tuple[str, list[int], list[int]]:
    """NFKC per character cluster, dashes folded to "-"; for each output
    character, the original [start, end) of the cluster it came from."""
    if unicodedata.is_normalized("NFKC", text):
        out = text
        starts = list(range(len(text)))
        ends = list(range(1, len(text) + 1))
    else:
        pieces: list[str] = []
        starts = []
        ends = []
        for m in _CLUSTER_RE.finditer(text):
            piece = unicodedata.normalize("NFKC", m.group()) or m.group()
            pieces.append(piece)
            starts.extend([m.start()] * len(piece))
            ends.extend([m.end()] * len(piece))
        out = "".join(pieces)
    # Both folds keep the length, so the offsets above stay true.
    out = _LONG_VOWEL_DASH_RE.sub("-", out.translate(_DASHES))
    return out, starts, ends


# --------------------------------------------------------------------------
# Character classes
# --------------------------------------------------------------------------

_KANJI = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆ヶ"
_HIRA = "\u3041-\u3096ゝゞ"
_KATA = "\u30a1-\u30f5\u30f7-\u30faーヽヾ"
_KNUM = "一二三四五六七八九十"
# Typed masks: 〇〇さん, ○○町, △△工業.
_MASKS = "〇○◯●◎□■△▲▽×✕*"


def _script(ch: str) -> str | None:
    if ("\u4e00" <= ch <= "\u9fff") or ("\u3400" <= ch <= "\u4dbf") or ch in "々〆ヶ":
        return "kanji"
    if "\uf900" <= ch <= "\ufaff":
        return "kanji"
    if "\u3041" <= ch <= "\u3096" or ch in "ゝゞ":
        return "hira"
    if "\u30a1" <= ch <= "\u30fa" or ch in "ーヽヾ":
        return "kata"
    if ch.isascii() and ch.isalpha():
        return "latin"
    return None


# --------------------------------------------------------------------------
# Numbers: phones, postal codes, マイナンバー, e-mail
# --------------------------------------------------------------------------

_PHONE_RES = [
    re.compile(r"\+81[- ]?(?:\(0\))?\d{1,4}[- ]?\d{1,4}[- ]?\d{3,4}(?!\d)"),
    re.compile(r"\(0\d{1,4}\)[- ]?\d{1,4}[- ]?\d{3,4}(?!\d)"),
    # 011(222)3333: the exchange in brackets
    re.compile(r"(?<![\d.\-/])0\d{1,4}[- ]?\(\d{1,4}\)[- ]?\d{3,4}(?!\d)"),
    re.compile(r"(?<![\d.\-/])0\d{1,4}[- ]?\d{1,4}[- ]?\d{3,4}(?![\d\-])"),
]
# A local number without area code only counts after a word that says "phone".
_PHONE_KEYWORD_RE = re.compile(
    r"(?:電話|TEL|Tel|tel|携帯|ケータイ|連絡先|FAX|Fax|fax|ファックス|ファクス)"
    r"[^\d\n]{0,6}?(?<![\d\-])(\d{2,4}-\d{4})(?![\d\-])"
)
_POSTAL_MARK_RE = re.compile(r"〒 ?\d{3}-?\d{4}(?!\d)")
_POSTAL_KEYWORD_RE = re.compile(r"郵便番号[^\d\n]{0,4}?(\d{3}-?\d{4})(?!\d)")
# A bare 060-0001 is a postal code unless a unit says it is a count or a range.
_POSTAL_BARE_RE = re.compile(
    r"(?<![\d\-.:/])\d{3}-\d{4}(?![\d\-])"
    r"(?! ?(?:円|人|名|件|回|年|月|日|時|分|秒|歳|才|%|世帯|か所|ヶ所|箇所|本|枚|個|番|号|頁|ページ|km|kg|m|g))"
)
_MY_NUMBER_RE = re.compile(r"(?<![\d\-])\d{4}[- ]?\d{4}[- ]?\d{4}(?![\d\-])")
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


def _digits(s: str) -> int:
    return sum(ch.isdigit() for ch in s)


def _numbers(norm: str) -> list[tuple[FindingKind, int, int]]:
    found: list[tuple[FindingKind, int, int]] = []
    for regex in _PHONE_RES:
        for m in regex.finditer(norm):
            # 10 digits (011-123-4567, 0120-…) or 11 (090-…); 12 is a マイナンバー.
            if 10 <= _digits(m.group()) <= 11 or m.group().startswith("+81"):
                found.append((FindingKind.PHONE, m.start(), m.end()))
    for m in _PHONE_KEYWORD_RE.finditer(norm):
        found.append((FindingKind.PHONE, m.start(1), m.end(1)))
    for m in _POSTAL_MARK_RE.finditer(norm):
        found.append((FindingKind.POSTAL_CODE, m.start(), m.end()))
    for m in _POSTAL_KEYWORD_RE.finditer(norm):
        found.append((FindingKind.POSTAL_CODE, m.start(1), m.end(1)))
    for m in _POSTAL_BARE_RE.finditer(norm):
        found.append((FindingKind.POSTAL_CODE, m.start(), m.end()))
    for m in _MY_NUMBER_RE.finditer(norm):
        if _digits(m.group()) == 12:
            found.append((FindingKind.INDIVIDUAL_NUMBER, m.start(), m.end()))
    for m in _EMAIL_RE.finditer(norm):
        found.append((FindingKind.EMAIL, m.start(), m.end()))
    return found


# --------------------------------------------------------------------------
# Street addresses
# --------------------------------------------------------------------------

_N = rf"[\d{_KNUM}]+"
_ADDRESS_RES = [
    # 北24条西5丁目12-5, 末広2条3丁目, 緑町二丁目, 7丁目5番12号
    re.compile(
        rf"(?:[東西南北]?{_N}条)?[東西南北]?{_N}丁目"
        rf"(?:{_N}番地?(?:{_N}号?)?|\d+(?:-\d+){{0,2}})?"
    ),
    # 北7条西5 (Sapporo-style grid without 丁目)
    re.compile(r"[東西南北]\d+条[東西南北]\d+(?:-\d+){0,2}"),
    # 123番地, 5番12号
    re.compile(r"\d+番地(?:の?\d+)?(?:-\d+)*"),
    re.compile(r"\d+番\d+号"),
    # 大麻東町1-2-3, 本郷通3-4-15, 字富岡12-3
    re.compile(rf"[{_KANJI}{_MASKS}]{{0,6}}[町村通字]\d{{1,4}}(?:-\d{{1,4}}){{1,2}}(?![\d\-])"),
    # 稲穂2-3-8: three groups straight after a place name
    re.compile(rf"(?<=[{_KANJI}{_HIRA}{_KATA}])[1-9]\d{{0,2}}-\d{{1,4}}-\d{{1,4}}(?![\d\-])"),
    # グリーンハイツ203号室, 市営住宅3号棟
    re.compile(
        rf"[{_KANJI}{_KATA}]{{0,10}}(?:マンション|アパート|ハイツ|コーポ|荘|団地|住宅|レジデンス|ハイム|メゾン)"
        r" ?\d+(?:号室|号棟|号|棟)"
    ),
]
# Words before 1-2-3 that make it a document reference, not an address.
_NOT_PLACE_BEFORE = ("資料", "図", "表", "第", "様式", "項", "別紙", "No", "番号", "ページ", "頁")


def _place_start(norm: str, start: int) -> int:
    """Start of the place name written straight before an address (豊平区平岸…)."""
    p = start
    while p > 0 and start - p < 10 and (_script(norm[p - 1]) == "kanji" or norm[p - 1] in _MASKS):
        p -= 1
    return p


def _addresses(norm: str) -> list[tuple[FindingKind, int, int]]:
    found = []
    for regex in _ADDRESS_RES:
        for m in regex.finditer(norm):
            before = norm[max(0, m.start() - 3) : m.start()]
            if before.endswith(_NOT_PLACE_BEFORE) and not re.search("[町村通字条目]", m.group()):
                continue
            start = _place_start(norm, m.start())
            if regex is _ADDRESS_RES[0] and start == m.start() and m.group().endswith("丁目"):
                # "1丁目から5丁目までが対象地区": a bare 丁目 with no place
                # before it and no 番地 after it names an area, not a home.
                if "条" not in m.group():
                    continue
            found.append((FindingKind.ADDRESS, start, m.end()))
    return found


# --------------------------------------------------------------------------
# Dates of birth
# --------------------------------------------------------------------------

_ERA = r"(?:明治|大正|昭和|平成|令和|(?<![A-Za-z])[MTSHR]\.? ?)"
_YEAR = rf"(?:{_ERA}(?:\d{{1,2}}|元)|(?:19|20)\d{{2}})"
_DATE = rf"{_YEAR} ?(?:年|\.|/|-) ?\d{{1,2}} ?(?:月|\.|/|-) ?\d{{1,2}} ?日?"
_BORN = r" ?(?:生まれ|産まれ|生(?![活徒命涯計産協])|出生|誕生)"
_BIRTH_RES = [
    re.compile(rf"{_DATE}{_BORN}"),
    re.compile(rf"{_YEAR} ?年 ?\d{{1,2}} ?月{_BORN}"),
    re.compile(rf"(?:生年月日|出生日|生年|DOB)[^\d\n]{{0,4}}?{_DATE}"),
    re.compile(r"誕生日[^\d\n]{0,4}?\d{1,2} ?月 ?\d{1,2} ?日"),
]


def _births(norm: str) -> list[tuple[FindingKind, int, int]]:
    return [
        (FindingKind.BIRTH_DATE, m.start(), m.end())
        for regex in _BIRTH_RES
        for m in regex.finditer(norm)
    ]


# --------------------------------------------------------------------------
# Names followed by an honorific
# --------------------------------------------------------------------------

_HONORIFIC_RE = re.compile(r"さん|さま|様|氏|くん|君|ちゃん")

# Role, relationship and organisation nouns that take さん/様 and are not
# names. A run "ends with" one of these (相談支援員さん, ご家族様…).
_ROLE_WORDS = frozenset(
    """
    相談者 支援員 利用者 大家 息子 祖父 祖母 叔父 叔母 伯父 伯母 旦那 主人 本人 家族 両親
    主任 主査 主幹 参事 理事 幹事 代表 会計 書記 顧問 親御 近所 医者 苦労 世話 相手 他人 患者 職員 担当 先輩 後輩 同僚 上司 部下 友達 友人
    知人 仲間 先生 学生 生徒 児童 新人 住人 管理人 後見人 保証人 代理人 同居人 外国人
    大人 成人 老人 婦人 個人 隣人 家主 世帯主 地主 店主 喪主 包括 社協 役所 役場 事務所
    事業所 保健所 病院 銀行 信金 警察 消防 児相 教委 窓口 行政 施設 法人 自治体 団体 企業
    通訳 大工 床屋 本屋 花屋 魚屋 肉屋 酒屋 米屋 薬屋 質屋 問屋 部屋 母屋 八百屋 年生
    校生 研修生 実習生 新入生 卒業生 受験生 留学生 院生 塾生 同級生 下級生 上級生 赤
    お客 客 奥 皆 子 娘 孫 嫁 婿 父 母 兄 姉 弟 妹 夫 妻 坊 嬢 隣 神 仏 王 同 各 貴 若 主
    長 親 彼 先 俺 僕 私 上 仕 市 区 町 村 県 道 府 国 都 多 模 異 図 文 柄 紋 諸 両 某 源 平 宮 殿
    ヘルパー ワーカー ケアマネ スタッフ ボランティア メンバー センター ママ パパ ママ友 オーナー
    ドクター ナース リーダー コーディネーター サポーター ゲスト ユーザー クライアント パート
    バイト アルバイト ドライバー カウンセラー トレーナー コンビニ スーパー ハローワーク
    ワーク テラス ファミリー サポート ステーション クリニック ホーム ケース オフィス チーム
    キッズ ベビー シッター コープ バンク フードバンク ネット カフェ サロン
    みな みんな かあ とう じい ばあ にい ねえ おじ おば おく おこ まわり いしゃ となり
    つかれ くろう かげ たがい ちそう せわ たく かみ ほとけ だんな むすめ むすこ おやご
    あか ぼっ じょう まご よめ しゅじん ほんにん そちら こちら あちら どちら どなた
    あなた おまえ きみ ぼく わたし おれ ひとり ども
    """.split()
)
_ROLE_ENDINGS = tuple(word for word in _ROLE_WORDS if len(word) > 1)
# Kanji that end role or organisation words (支援員, 保健師, 保育園, 札幌市…).
_ROLE_SUFFIXES = frozenset("員者師士長官係課局署庁院校社店団家協会園市区県府道国省体業")
# Surnames end in these too (田所, 中村, 土屋), so only longer runs are roles.
_ROLE_SUFFIXES_LONG = frozenset("所町村屋")


def _is_role(run: str, script: str) -> bool:
    if run in _ROLE_WORDS or run.endswith(_ROLE_ENDINGS):
        return True
    if script == "kanji" and len(run) >= 2:
        if run[-1] in _ROLE_SUFFIXES:
            return True
        if run[-1] in _ROLE_SUFFIXES_LONG and len(run) >= 3:
            return True
    if script == "kata" and len(run) >= 4 and run.endswith("ー"):
        # ヘルパー, ワーカー, センター, マネージャー: occupations and places.
        return True
    return False


def _names(norm: str) -> list[tuple[FindingKind, int, int]]:
    found = []
    for m in _HONORIFIC_RE.finditer(norm):
        hon = m.group()
        end = m.start()
        if end == 0:
            continue
        script = _script(norm[end - 1])
        if script is None:
            continue  # 〇〇さん, 3さん, 「さん」: masks and fragments
        start = end
        while start > 0 and _script(norm[start - 1]) == script:
            start -= 1
        run = norm[start:end]
        after = norm[m.end() : m.end() + 2]
        if hon == "様" and after[:1] in ("式", "子", "々", "相", "態"):
            continue  # 様式, 様子, 様々
        if hon == "氏" and after[:1] in ("名", "族"):
            continue  # 氏名
        if hon == "君" and after[:1] in ("主", "臨", "子"):
            continue  # 君主
        if hon == "くん" and after.startswith("れ"):
            continue  # くんれん (訓練)
        if hon == "さま" and after[:1] in ("ざ", "よ"):
            continue  # さまざま, さまよう
        if script == "latin":
            # A, KS, NPO, CW: initials are how cases are anonymised.
            if len(run) == 1 or (run.isupper() and len(run) <= 4):
                continue
        elif script == "hira":
            if hon == "ちゃん" and after.startswith("と"):
                continue  # ちゃんと
            if start > 0 and _script(norm[start - 1]) == "kanji" and end - start <= 4:
                continue  # 子どもさん, お巡りさん: kana ending a kanji word
            if len(run) > 4:
                # The name is the tail of a run that also holds particles
                # (…ってゆうこちゃん); most hiragana given names are 2–3 kana.
                start = end - 3
            if end - start < 2:
                continue
            if norm[start] in "おご":
                continue  # おかあさん, おつかれさま, ごくろうさま
        elif script == "kanji":
            if start > 0 and norm[start - 1] in "おご御":
                continue  # お子さん, ご主人様, お客様, お世話様
            if end - start == 1 and start > 0 and _script(norm[start - 1]) in ("kata", "latin"):
                continue  # センター長さん, NPO代表: the end of a mixed compound
            if end - start > 6:
                start = end - 6
        elif script == "kata" and end - start < 2:
            continue
        if _is_role(norm[start:end], script) or _is_role(run, script):
            continue
        found.append((FindingKind.NAME, start, m.end()))
    return found


# --------------------------------------------------------------------------
# Family relations next to a name
# --------------------------------------------------------------------------

# Common surnames: "田中の長男" names a household without an honorific.
_SURNAMES = """
佐藤 鈴木 高橋 田中 伊藤 渡辺 渡部 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上
木村 斎藤 斉藤 清水 山崎 池田 橋本 阿部 石川 山下 中島 石井 小川 前田 岡田 長谷川 藤田
後藤 近藤 村上 遠藤 青木 坂本 福田 太田 西村 藤井 金子 岡本 藤原 中野 三浦 原田 中川
松田 竹内 小野 田村 中山 和田 石田 森田 上田 内田 柴田 酒井 宮崎 横山 高木 安藤 宮本
大野 小島 谷口 今井 工藤 高田 増田 丸山 杉山 村田 大塚 新井 小山 平野 藤本 河野 上野
野口 武田 松井 千葉 岩崎 菅原 木下 久保 佐野 野村 松尾 菊地 菊池 杉本 市川 古川 大西
島田 水野 桜井 高野 吉川 山内 西田 飯田 西川 小松 北村 安田 五十嵐 川口 平田 中田
久保田 服部 岩田 土屋 川崎 本田 樋口 秋山 田口 永井 山中 中西 吉村 川上 石原 大橋 松岡
馬場 浅野 荒木 大久保 野田 小沢 田辺 川村 星野 黒田 尾崎 望月 永田 熊谷 内藤 松村 西山
大谷 平井 大島 岩本 片山 本間 早川 横田 岡崎 荒井 大石 鎌田 成田 宮田 小田 石橋 篠原
須藤 河合 大森 高山 小池 北野 畠山 今野 及川 三上 佐久間 船橋 小笠原 山岸 村井
""".split()
_RELATIONS = (
    "長男|長女|次男|次女|三男|三女|末っ子|息子|娘|父親|母親|父|母|夫|妻|旦那|嫁|婿|孫|"
    "兄|姉|弟|妹|祖父|祖母|叔父|叔母|伯父|伯母|甥|姪|元夫|元妻|義母|義父|両親|家族|"
    "きょうだい|兄弟|姉妹|子ども|子供|こども|お子さん|配偶者|世帯|一家"
)
_SURNAME_SET = frozenset(_SURNAMES)
# Anchored on what follows the name (cheap to find), then the kanji run before
# it is checked against the surnames: far faster than a 180-way alternation
# tried at every position.
_RELATION_AFTER_RE = re.compile(rf"(家|宅)?の(?:{_RELATIONS})")
_HOUSEHOLD_RE = re.compile(r"家(?![庭族計事賃屋業電具出主裁政宅内])(?:の|では|で|は|が|に|から|と)")
# 家 words that are not a family name: 実家, 専門家, 一軒家 …
_NOT_HOUSE = frozenset(
    """
    一軒 専門 政治 資産 篤志 愛好 酪農 落語 起業 実業 事業 投資 活動 運動 研究 教育 宗教
    陶芸 写真 漫画 料理 園芸 建築 芸術 小説 評論 勉強 努力 倹約 節約 浪費 読書 愛妻 恐妻
    分譲 一般 母子 父子 二世帯 隠れ 農 実 一 両 本 分 生 民 隣 大 国 作 画 漁 商 武 公
    旧 名 良 王 宗 婚 借 貸 空 持 人 在 当 各 自 他 同 全 里 親 古 新 売 住 廃
    """.split()
)
_FAMILY_AFTER_NAME_RE = re.compile(rf"(?:の|宅の|家の)(?:{_RELATIONS})")


def _kanji_run_before(norm: str, end: int, limit: int = 5) -> int:
    start = end
    while start > 0 and end - start < limit and _script(norm[start - 1]) == "kanji":
        start -= 1
    return start


def _is_surname_run(run: str) -> bool:
    """田中, 田中太郎, 佐々木一: a known surname, maybe with a short given name."""
    return any(run[:n] in _SURNAME_SET for n in (2, 3, 4) if 0 <= len(run) - n <= 2)


def _families(norm: str, names: list[tuple[FindingKind, int, int]]):
    found = []
    for m in _RELATION_AFTER_RE.finditer(norm):
        start = _kanji_run_before(norm, m.start())
        run = norm[start : m.start()]
        if _is_surname_run(run):
            found.append((FindingKind.FAMILY, start, m.end()))  # 田中の長男
        elif m.group(1) == "家" and 2 <= len(run) <= 3:
            if run not in _NOT_HOUSE and run[-1] not in _NOT_HOUSE:
                found.append((FindingKind.FAMILY, start, m.end()))  # 北条家の母
    for m in _HOUSEHOLD_RE.finditer(norm):
        start = _kanji_run_before(norm, m.start())
        if norm[start : m.start()] in _SURNAME_SET:
            found.append((FindingKind.FAMILY, start, m.start() + 1))  # 伊藤家では
    for _kind, start, end in names:
        rel = _FAMILY_AFTER_NAME_RE.match(norm, end)
        if rel:
            found.append((FindingKind.FAMILY, start, rel.end()))
    return found


# --------------------------------------------------------------------------
# Schools and workplaces next to a person
# --------------------------------------------------------------------------

# Particles and endings that cannot be inside a school's or firm's name.
_CUT = re.compile(r".*(?:[のはがをにでともへやなて、]|いる|いた|する|した|だ)")
_SCHOOL_RE = re.compile(
    r"(?:義務教育学校|特別支援学校|高等養護学校|養護学校|高等学校|小学校|中学校|専門学校|"
    r"認定こども園|こども園|保育園|保育所|幼稚園|高専|短大|学園|学院|"
    r"中学(?!生|校)|高校(?!生)|大学(?!生|院))"
)
# 北光小3年: the short form only with a grade after it.
_SCHOOL_SHORT_RE = re.compile(r"小(?=\d年|[一二三四五六]年)")
_WORK_RE = re.compile(
    r"(?:工業|建設|建工|工務店|商事|産業|運輸|運送|物流|物産|製作所|製菓|水産|食品|電機|興業|"
    r"興産|不動産|商店|商会|設備|技研|電設|鉄工所|鉄工|精機|農園|牧場|ファーム|ホテル|旅館|"
    r"交通|タクシー|ハイヤー|フーズ|ホールディングス|サービス|システム|工房)(?!業|会社|現場|加工|関係|関連)"
)
_COMPANY_MARK_RE = re.compile(r"(?:株式会社|有限会社|合同会社|\(株\)|\(有\))")
_COMPANY_MARK_BEFORE_RE = re.compile(r"(?:株式会社|有限会社|合同会社|\(株\)|\(有\)) ?$")
_COMPANY_NAME_RE = re.compile(rf"[{_KANJI}{_KATA}{_MASKS}]{{1,15}}")
# Not a particular school or firm: 市内の小学校, 定時制高校, 大手建設 …
_GENERIC_INSTITUTION = frozenset(
    """
    各 市内 区内 町内 村内 道内 近隣 地域 地元 全 同 当 本 他 別 近く 近所 複数 一部 多く 全て
    夜間 通信制 定時制 単位制 全日制 普通 総合 女子 男子 共学 進学 地方 志望 第一志望 付属 附属
    特別支援 支援 養護 前 元 新 高等 小中 小中一貫 中高一貫 公立 私立 国立 市立 区立 町立 村立
    道立 県立 府立 都立 大手 中小 零細 民間 関連 系列 親 子 工業 商業 農業 水産 看護 福祉 医療
    調理 美容 情報 放送 夜 昼 大 小 中 高 短 専門 いくつか ほか 同じ 近い 小さな 大きな
    """.split()
)
_SCHOOL_PERSON_AFTER_RE = re.compile(
    r"^(?:[\d一二三四五六]年生?|"
    r"(?:の|に|で|を|へ|から)?(?:年少|年中|年長|通|在籍|在学|卒業|中退|退学|転校|転入|休学|不登校|担任|"
    r"男の子|女の子|男子|女子|生徒(?!会|数)|児童(?!数|館|会)|園児|お子さん|"
    r"長男|長女|次男|次女|三男|三女|息子|娘|孫|弟|妹|兄|姉))"
)
_WORK_PERSON_AFTER_RE = re.compile(
    # "を先月解雇された": a short adverb may sit between the firm and the verb.
    r"^(?:に|で|の|へ|から|を)?(?:[^、。\n]{0,3}?)(?:勤め|勤務|働|就職|就労|雇わ|雇用|パート|アルバイト|バイト|"
    r"夜勤|日勤|正社員|社員|従業員|契約社員|派遣|解雇|雇い止め|退職|辞め|クビ|入社|内定|採用|"
    r"父|母|夫|妻|息子|娘|長男|長女|次男|次女)"
)
_PERSON_BEFORE_RE = re.compile(
    r"(?:勤務先|勤め先|職場|就職先|内定先|派遣先|勤めている|勤める|働いている|働いていた|働く|"
    rf"通う|通っている|通っていた|在籍する|在籍している|(?:{_RELATIONS})(?:が|は|の))"
    r"(?:は|の|が|:|、| )?$"
)


def _is_name_char(ch: str) -> bool:
    return _script(ch) in ("kanji", "hira", "kata") or ch in _MASKS or ch == "・"


def _institution_name(norm: str, end: int) -> int | None:
    """Start of the specific name ending at `end` (北光 of 北光小学校), or
    None when what stands there is not one school or firm."""
    start = end
    while start > 0 and end - start < 15 and _is_name_char(norm[start - 1]):
        start -= 1
    cut = _CUT.match(norm, start, end)
    if cut:
        start = cut.end()
    name = norm[start:end]
    if not name or name in _GENERIC_INSTITUTION:
        return None
    if name.endswith("立") or (name[-1] in "市区町村道" and len(name) <= 4):
        return None  # 札幌市立小学校, 札幌市の…: a kind of school, not one
    return start


def _near_person(norm: str, start: int, end: int, after_re: re.Pattern) -> bool:
    return bool(
        after_re.match(norm[end : end + 12])
        or _PERSON_BEFORE_RE.search(norm[max(0, start - 12) : start])
    )


def _institutions(norm: str) -> list[tuple[FindingKind, int, int]]:
    found = []
    for regex, after_re in (
        (_SCHOOL_RE, _SCHOOL_PERSON_AFTER_RE),
        (_SCHOOL_SHORT_RE, _SCHOOL_PERSON_AFTER_RE),
        (_WORK_RE, _WORK_PERSON_AFTER_RE),
    ):
        for m in regex.finditer(norm):
            start = _institution_name(norm, m.start())
            if start is None:
                continue
            end = m.end()
            # (有)丸山水産, 丸山水産(株): the company mark is part of the name.
            mark = _COMPANY_MARK_BEFORE_RE.search(norm, max(0, start - 7), start)
            if mark:
                start = mark.start()
            mark = _COMPANY_MARK_RE.match(norm, end)
            if mark:
                end = mark.end()
            if _near_person(norm, start, end, after_re):
                found.append((FindingKind.SCHOOL_OR_WORKPLACE, start, end))
    # 株式会社ノースケア: a company mark with a katakana or kanji name, no suffix.
    for m in _COMPANY_MARK_RE.finditer(norm):
        name = _COMPANY_NAME_RE.match(norm, m.end())
        if name and _near_person(norm, m.start(), name.end(), _WORK_PERSON_AFTER_RE):
            found.append((FindingKind.SCHOOL_OR_WORKPLACE, m.start(), name.end()))
    return found


# --------------------------------------------------------------------------
# An exact age next to a specific place or name
# --------------------------------------------------------------------------

_AGE_RE = re.compile(
    rf"(?<![\d.~〜\-])(?:\d{{1,3}}|[{_KNUM}百]{{1,4}}) ?(?:歳|才)"
    r"(?!以上|以下|未満|超|前後|代|から|まで|~|〜|-|程度|くらい|ぐらい|位|出|入|末|月|能)"
)
_PLACE_RE = re.compile(
    rf"(?<![{_KANJI}])[{_KANJI}]{{1,5}}(?:市|区|町|村|郡)(?:[{_KANJI}]{{1,5}}(?:区|町|村))?"
    rf"|[{_KANJI}{_KATA}]{{2,6}}(?:地区|団地)"
)
_NOT_PLACE = re.compile(r"^(?:当|本|同|各|他|全|近隣|周辺|大?都)?[市区町村郡]+$")
_SENTENCE_END = re.compile(r"[。！？!?\n]")
_AGE_WINDOW = 15


def _ages(norm: str, anchors: list[tuple[FindingKind, int, int]]):
    places = [
        (m.start(), m.end()) for m in _PLACE_RE.finditer(norm) if not _NOT_PLACE.match(m.group())
    ]
    found = []
    for m in _AGE_RE.finditer(norm):
        a, b = m.start(), m.end()
        best = None
        for p, q in places:
            gap = a - q if q <= a else p - b
            if 0 <= gap <= _AGE_WINDOW and not _SENTENCE_END.search(norm, min(q, b), max(p, a)):
                # The place is not a finding of its own: mark it with the age.
                best = (min(p, a), max(q, b))
                break
        if best is None:
            for _kind, p, q in anchors:
                gap = a - q if q <= a else p - b
                if 0 <= gap <= _AGE_WINDOW and not _SENTENCE_END.search(norm, min(q, b), max(p, a)):
                    best = (a, b)  # the name or address is marked already
                    break
        if best:
            found.append((FindingKind.AGE_AND_PLACE, *best))
    return found


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------

# When two numeric findings cover the same digits, the first kind here wins.
_NUMERIC = (
    FindingKind.PHONE,
    FindingKind.INDIVIDUAL_NUMBER,
    FindingKind.POSTAL_CODE,
    FindingKind.ADDRESS,
)


def _resolve(raw: list[tuple[FindingKind, int, int]]) -> list[tuple[FindingKind, int, int]]:
    """Drop a finding inside another of the same kind, and a numeric finding
    inside a numeric one (the 123-4567 of 011-123-4567 is not also a postal
    code; on the same digits the stronger kind of `_NUMERIC` wins)."""
    rank = {kind: i for i, kind in enumerate(_NUMERIC)}
    ordered = sorted(set(raw), key=lambda f: (f[1], -f[2], rank.get(f[0], len(rank))))
    kept = []
    # Everything seen so far starts at or before the current finding, so it
    # is inside an earlier one exactly when an earlier one reaches its end.
    reach: dict[FindingKind, int] = {}
    numeric_reach = -1
    for kind, start, end in ordered:
        if reach.get(kind, -1) >= end or (kind in rank and numeric_reach >= end):
            continue
        kept.append((kind, start, end))
        reach[kind] = max(reach.get(kind, -1), end)
        if kind in rank:
            numeric_reach = max(numeric_reach, end)
    return kept


def find(text: str) -> list[Finding]:
    """Everything in `text` that could identify a person, in text order."""
    if not text:
        return []
    norm, starts, ends = _normalise(text)
    raw = _numbers(norm) + _addresses(norm) + _births(norm)
    names = _names(norm)
    raw += names + _families(norm, names) + _institutions(norm)
    raw += _ages(norm, raw)
    findings = []
    for kind, s, e in _resolve(raw):
        if s >= e:
            continue
        start, end = starts[s], ends[e - 1]
        findings.append(Finding(kind=kind, start=start, end=end, text=text[start:end]))
    return sorted(findings, key=lambda f: (f.start, f.end, f.kind))


def is_clean(text: str) -> bool:
    return not find(text)


def describe(findings: list[Finding]) -> str:
    """「電話番号『011-123-4567』、人名『田中さん』」 — for the author and privacy_check."""
    seen: list[tuple[str, str]] = []
    for f in findings:
        item = (f.label, f.text)
        if item not in seen:
            seen.append(item)
    return "、".join(f"{label}『{text}』" for label, text in seen)


def highlight(text: str) -> SafeString:
    """`text` escaped, each finding in <mark class="privacy-flag" title="…">;
    overlapping findings share one mark whose title names every kind."""
    findings = find(text)
    spans: list[list] = []
    for f in findings:
        if spans and f.start < spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], f.end)
            if f.label not in spans[-1][2]:
                spans[-1][2].append(f.label)
        else:
            spans.append([f.start, f.end, [f.label]])
    parts = []
    pos = 0
    for start, end, labels in spans:
        parts.append(escape(text[pos:start]))
        parts.append(
            f'<mark class="privacy-flag" title="{escape("・".join(labels))}">'
            f"{escape(text[start:end])}</mark>"
        )
        pos = end
    parts.append(escape(text[pos:]))
    return mark_safe("".join(parts))  # every piece above went through escape()
