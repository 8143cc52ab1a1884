"""The privacy guard (core.privacy) and its contract command `privacy_check`.

The corpus (tests/privacy_corpus.py) measures the guard as a whole: recall
and precision over every sentence, with the misses printed. The unit tests
pin each kind with exact offsets into the original (full-width) text, the
ordinary talk of the work that must stay unflagged, the escaping of
`highlight`, and the command's one-line-in, one-line-out contract.
"""

import dataclasses
import io
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from core.privacy import Finding, FindingKind, describe, find, highlight, is_clean

from . import privacy_corpus as corpus

K = FindingKind
BASE_DIR = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------
# The corpus: precision and recall
# --------------------------------------------------------------------------


def _measure(flagged, clean):
    missed = [text for text, _kind in flagged if not find(text)]
    false_alarms = [(text, describe(find(text))) for text in clean if find(text)]
    wrong_kind = [
        (text, kind, describe(found))
        for text, kind in flagged
        if (found := find(text)) and kind not in {f.kind for f in found}
    ]
    caught = len(flagged) - len(missed)
    recall = caught / len(flagged)
    precision = caught / (caught + len(false_alarms)) if caught + len(false_alarms) else 1.0
    return recall, precision, missed, false_alarms, wrong_kind


def test_privacy_corpus_has_enough_invented_sentences():
    assert len(corpus.ALL_FLAGGED) >= 60
    assert len(corpus.ALL_CLEAN) >= 60
    assert len(corpus.ALL_FLAGGED) + len(corpus.ALL_CLEAN) >= 120
    texts = [text for text, _kind in corpus.ALL_FLAGGED] + corpus.ALL_CLEAN
    assert len(set(texts)) == len(texts)
    # Every kind is exercised by more than one flagged sentence.
    per_kind = {kind: 0 for kind in K}
    for _text, kind in corpus.ALL_FLAGGED:
        per_kind[kind] += 1
    assert min(per_kind.values()) >= 3, per_kind


def test_privacy_corpus_recall_and_precision(capsys):
    lines = []
    for name, (flagged, clean) in corpus.SETS.items():
        recall, precision, missed, false_alarms, wrong_kind = _measure(flagged, clean)
        lines.append(
            f"{name}: {len(flagged)} flagged, {len(clean)} clean — "
            f"recall {recall:.3f}, precision {precision:.3f}"
        )
        lines += [f"  missed: {text}" for text in missed]
        lines += [f"  false alarm: {text} → {what}" for text, what in false_alarms]
        lines += [
            f"  other kind: {text} (expected {kind.label}) → {what}"
            for text, kind, what in wrong_kind
        ]
    recall, precision, missed, false_alarms, wrong_kind = _measure(
        corpus.ALL_FLAGGED, corpus.ALL_CLEAN
    )
    lines.append(f"all: recall {recall:.3f}, precision {precision:.3f}")
    report = "\n".join(["", "privacy guard on the corpus:", *lines])
    with capsys.disabled():
        print(report)

    assert recall >= 0.95, report
    assert precision >= 0.9, report
    # A caught sentence names what the corpus expects (it may name more).
    assert len(wrong_kind) <= len(corpus.ALL_FLAGGED) * 0.05, report


def test_privacy_corpus_findings_point_into_the_original_text():
    for text in [t for t, _k in corpus.ALL_FLAGGED]:
        for f in find(text):
            assert text[f.start : f.end] == f.text
            assert 0 <= f.start < f.end <= len(text)


def test_privacy_find_never_fails_on_random_text():
    # Forms feed it whatever a member types; offsets must stay inside the text.
    rng = random.Random(12)
    alphabet = (
        "田中さん様氏くん君ちゃん0123456789０１２３４５６７８９-－ー‐()（）〒@＠."
        "丁目番地号条北西町市区歳生まれ年月日の家長男小学校工業に勤めるｶﾞﾟ\u0301\u3099 \n<>&〇A"
    )
    for _ in range(2000):
        text = "".join(
            rng.choice(alphabet) if rng.random() < 0.9 else chr(rng.randint(0, 0x2FFFF))
            for _ in range(rng.randint(0, 40))
        )
        for f in find(text):
            assert 0 <= f.start < f.end <= len(text)
            assert text[f.start : f.end] == f.text
        assert "<script" not in str(highlight(text + "<script>"))


def test_privacy_find_is_fast_on_a_paragraph():
    paragraph = "".join(t for t, _k in corpus.FLAGGED[:6]) + "".join(corpus.CLEAN[:6])
    find(paragraph)
    started = time.perf_counter()
    for _ in range(100):
        find(paragraph)
    per_paragraph = (time.perf_counter() - started) / 100
    # Measured ≈0.5 ms on a 2-core machine; the bar leaves room for a slow CI.
    assert per_paragraph < 0.02, per_paragraph


# --------------------------------------------------------------------------
# Each kind, with offsets into the original text
# --------------------------------------------------------------------------


def _one(text):
    found = find(text)
    assert len(found) == 1, found
    return found[0]


def test_privacy_phone_full_width_offsets():
    text = "連絡先は０９０－１２３４－５６７８です"
    assert find(text) == [Finding(K.PHONE, 4, 17, "０９０－１２３４－５６７８")]


@pytest.mark.parametrize(
    "number",
    [
        "011-123-4567",
        "(011)123-4567",
        "（０１１）１２３－４５６７",
        "0120-123-456",
        "+81-90-1234-5678",
        "+81 11 123 4567",
        "09012345678",
        "０９０ー１２３４ー５６７８",
        "090‐1234‐5678",
        "011(222)3333",
    ],
)
def test_privacy_phone_forms(number):
    text = f"本人の番号は{number}です。"
    assert find(text) == [Finding(K.PHONE, 6, 6 + len(number), number)]


def test_privacy_phone_local_number_only_after_a_phone_word():
    assert find("電話は123-4567まで") == [Finding(K.PHONE, 3, 11, "123-4567")]


def test_privacy_postal_code_full_width_offsets():
    text = "宛先は〒０６０－０００１です"
    assert find(text) == [Finding(K.POSTAL_CODE, 3, 12, "〒０６０－０００１")]
    assert find("060-0001 札幌市中央区") == [Finding(K.POSTAL_CODE, 0, 8, "060-0001")]
    assert find("〒0600001") == [Finding(K.POSTAL_CODE, 0, 8, "〒0600001")]


def test_privacy_address_full_width_offsets():
    text = "住所は北１条西２丁目３－４です"
    assert find(text) == [Finding(K.ADDRESS, 3, 13, "北１条西２丁目３－４")]


@pytest.mark.parametrize(
    "address",
    [
        "江別市大麻東町1-2-3",
        "〇〇町1-2-3",
        "北見市中央町5番12号",
        "栗沢町字万字123番地",
        "北7条西5",
        "苫小牧市緑町二丁目",
    ],
)
def test_privacy_address_forms(address):
    text = f"本人は{address}に住んでいる。"
    assert find(text) == [Finding(K.ADDRESS, 3, 3 + len(address), address)]


def test_privacy_birth_date_forms():
    text = "平成１２年３月４日生まれの女性"
    assert find(text) == [Finding(K.BIRTH_DATE, 0, 12, "平成１２年３月４日生まれ")]
    assert find("S45.1.2生、単身") == [Finding(K.BIRTH_DATE, 0, 8, "S45.1.2生")]
    assert find("生年月日：1958/6/30") == [Finding(K.BIRTH_DATE, 0, 14, "生年月日：1958/6/30")]


def test_privacy_age_next_to_a_place_is_flagged_an_age_band_is_not():
    text = "札幌市北区の７２歳の女性"
    assert find(text) == [Finding(K.AGE_AND_PLACE, 0, 9, "札幌市北区の７２歳")]
    assert find("60代の相談者が増えている") == []
    assert find("72歳の女性から相談") == []  # an age alone, with nothing to pin it to
    assert find("65歳以上の方が札幌市の対象です") == []


def test_privacy_age_next_to_a_name_is_flagged():
    assert find("72歳の田中さん") == [
        Finding(K.AGE_AND_PLACE, 0, 3, "72歳"),
        Finding(K.NAME, 4, 8, "田中さん"),
    ]


def test_privacy_individual_number_full_width_offsets():
    text = "番号は１２３４５６７８９０１２です"
    assert find(text) == [Finding(K.INDIVIDUAL_NUMBER, 3, 15, "１２３４５６７８９０１２")]
    assert find("1234-5678-9012") == [Finding(K.INDIVIDUAL_NUMBER, 0, 14, "1234-5678-9012")]
    assert find("1234 5678 9012") == [Finding(K.INDIVIDUAL_NUMBER, 0, 14, "1234 5678 9012")]


def test_privacy_email_full_width_offsets():
    text = "宛先：ｔａｎａｋａ＠ｅｘａｍｐｌｅ．ｊｐ"
    assert find(text) == [Finding(K.EMAIL, 3, 20, "ｔａｎａｋａ＠ｅｘａｍｐｌｅ．ｊｐ")]


@pytest.mark.parametrize(
    "name",
    [
        "田中さん",
        "佐藤様",
        "山本氏",
        "中村くん",
        "高橋君",
        "ゆうこちゃん",
        "マリアさん",
        "Tanakaさん",
    ],
)
def test_privacy_name_with_honorific(name):
    text = f"昨日、{name}が来所した。"
    assert find(text) == [Finding(K.NAME, 3, 3 + len(name), name)]


def test_privacy_name_half_width_katakana_offsets():
    # ｶﾞ is two characters that NFKC makes one: the offsets still count the original.
    text = "ﾔﾏｶﾞﾀさんの件"
    assert find(text) == [Finding(K.NAME, 0, 7, "ﾔﾏｶﾞﾀさん")]


@pytest.mark.parametrize(
    "text",
    [
        "相談者さん",
        "支援員さん",
        "利用者様",
        "皆さん",
        "お子さん",
        "奥さん",
        "大家さん",
        "〇〇市さん",
        "〇〇さん",
        "Aさん",
        "ケースワーカーさん",
        "民生委員さん",
        "社協さん",
        "札幌市さん",
        "お疲れ様です",
        "みなさん",
        "たくさんの方",
        "ちゃんと聞く",
        "おばあちゃん",
        "子どもさん",
        "センター長さん",
        "様式第3号",
        "氏名欄",
    ],
)
def test_privacy_role_nouns_and_masks_are_not_names(text):
    assert find(text) == []


def test_privacy_family_relation_next_to_a_name():
    assert find("田中の長男が") == [Finding(K.FAMILY, 0, 5, "田中の長男")]
    assert find("山田家の母が") == [Finding(K.FAMILY, 0, 5, "山田家の母")]
    assert find("実家の母に頼る") == []
    assert find("相談者の長男が") == []


def test_privacy_school_and_workplace_next_to_a_person():
    assert find("〇〇小学校3年の男の子") == [Finding(K.SCHOOL_OR_WORKPLACE, 0, 5, "〇〇小学校")]
    assert find("△△工業に勤める父親") == [Finding(K.SCHOOL_OR_WORKPLACE, 0, 4, "△△工業")]
    assert find("北光小学校で説明会を開いた") == []  # a school, but no person at it
    assert find("コンビニで働く母親") == []  # a kind of workplace, not one


@pytest.mark.parametrize(
    "text",
    [
        "60代の相談者が増えている",
        "札幌市の窓口に相談",
        "家計改善支援の様式",
        "4月1日から受付",
        "第3回の情報交換会",
        "2021年度の実績",
        "電話で相談を受けた",
        "区役所の保護課",
        "小学生の学習支援",
        "1丁目から5丁目までが対象地区です",
        "資料1-2を参照",
        "受付は9:00-17:00",
    ],
)
def test_privacy_ordinary_talk_of_the_work_is_clean(text):
    assert find(text) == []
    assert is_clean(text)


def test_privacy_is_clean_on_identifying_text_is_false():
    assert is_clean("田中さんの件") is False
    assert is_clean("") is True


def test_privacy_finding_is_frozen():
    finding = _one("田中さんの件")
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.start = 0
    assert finding.label == "人名"


def test_privacy_kind_labels_are_japanese():
    assert [str(kind.label) for kind in K] == [
        "電話番号",
        "郵便番号",
        "住所",
        "生年月日",
        "年齢と場所",
        "個人番号",
        "メールアドレス",
        "人名",
        "家族関係",
        "学校・勤務先",
    ]


def test_privacy_describe_names_kind_and_text():
    assert (
        describe(find("田中さんの電話は011-123-4567"))
        == "人名『田中さん』、電話番号『011-123-4567』"
    )
    assert describe([]) == ""


# --------------------------------------------------------------------------
# highlight(): escaped text, findings in <mark>
# --------------------------------------------------------------------------


def test_privacy_highlight_escapes_everything_and_marks_findings():
    hostile = '<script>alert("x")</script>田中さん & <b>011-123-4567</b>'
    assert str(highlight(hostile)) == (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
        '<mark class="privacy-flag" title="人名">田中さん</mark> &amp; &lt;b&gt;'
        '<mark class="privacy-flag" title="電話番号">011-123-4567</mark>&lt;/b&gt;'
    )


def test_privacy_highlight_overlapping_findings_share_one_mark():
    assert str(highlight("佐々木さんの次女が")) == (
        '<mark class="privacy-flag" title="人名・家族関係">佐々木さんの次女</mark>が'
    )


def test_privacy_highlight_clean_text_is_only_escaped():
    html = highlight("60代の<相談者>が増えている")
    assert str(html) == "60代の&lt;相談者&gt;が増えている"
    assert "style=" not in str(highlight("田中さん"))


# --------------------------------------------------------------------------
# manage.py privacy_check: the contract
# --------------------------------------------------------------------------


def _check(data: bytes) -> str:
    out = io.StringIO()
    call_command("privacy_check", stdin=io.BytesIO(data), stdout=out)
    return out.getvalue()


def test_privacy_check_one_line_out_per_line_in():
    lines = [
        "田中さんの電話は011-123-4567",
        "",
        "60代の相談者が増えている",
        "〒０６０－０００１に転送",
        "家計改善支援の様式",
    ]
    output = _check(("\n".join(lines) + "\n").encode())
    assert output.split("\n")[:-1] == [
        "flag\t人名『田中さん』、電話番号『011-123-4567』",
        "ok",
        "ok",
        "flag\t郵便番号『〒０６０－０００１』",
        "ok",
    ]
    assert output.endswith("\n")


def test_privacy_check_bom_crlf_and_last_line_without_newline():
    data = "\ufeff佐藤様より\r\n札幌市の窓口に相談\r\nゆうこちゃん".encode()
    assert _check(data) == "flag\t人名『佐藤様』\nok\nflag\t人名『ゆうこちゃん』\n"


def test_privacy_check_empty_input_writes_nothing():
    assert _check(b"") == ""


def test_privacy_check_stops_with_status_2_on_a_line_that_is_not_utf8():
    out = io.StringIO()
    data = "田中さん\n".encode() + b"\xff\xfe\x00bad\n" + "佐藤様\n".encode()
    with pytest.raises(CommandError) as caught:
        call_command("privacy_check", stdin=io.BytesIO(data), stdout=out)
    assert caught.value.returncode == 2
    assert (
        str(caught.value)
        == "2行目がUTF-8として読めません（1バイト目）。この行から後は調べていません。"
    )
    # The line before was answered; nothing for the bad line or after it.
    assert out.getvalue() == "flag\t人名『田中さん』\n"


def _run(data: bytes) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "LANG": "C"}
    return subprocess.run(
        [sys.executable, "manage.py", "privacy_check"],
        input=data,
        capture_output=True,
        cwd=BASE_DIR,
        env=env,
        timeout=60,
    )


def test_privacy_check_as_a_process_follows_the_contract():
    lines = [t for t, _k in corpus.FLAGGED[:5]] + corpus.CLEAN[:5] + [""]
    done = _run(("\n".join(lines) + "\n").encode())
    assert done.returncode == 0, done.stderr.decode()
    answers = done.stdout.decode("utf-8").split("\n")
    assert answers[-1] == ""
    answers = answers[:-1]
    assert len(answers) == len(lines)
    assert [a.split("\t")[0] for a in answers] == ["flag"] * 5 + ["ok"] * 6
    assert answers[0] == "flag\t電話番号『090-1234-5678』"
    assert all(len(a.split("\t")) == 2 for a in answers[:5])


def test_privacy_check_as_a_process_exits_2_on_bad_bytes():
    done = _run("田中さん\n".encode() + b"\x80\n")
    assert done.returncode == 2
    assert done.stdout.decode("utf-8") == "flag\t人名『田中さん』\n"
    assert "2行目がUTF-8として読めません" in done.stderr.decode("utf-8")
