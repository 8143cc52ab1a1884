"""The survey templates: the seed's two (post-event and annual) and the
follow-up a completed back-up menu sends its applicant (support.services).

Question keys are stable across years: the results page compares the same key
in consecutive 年度 (year-over-year) and the dashboard reads its key results by key.
"""

from django.utils.translation import gettext_lazy as _

from .enums import QuestionKind

YES = "はい"
NO = "いいえ"
UNSURE = "どちらともいえない"
ATTENDED = "参加したことがある"
NOT_ATTENDED = "参加したことがない"

FREQUENCIES = ["毎月", "2か月に1回", "四半期", "半年", "年1〜2回"]
FORMATS = [
    "テーマ別ディスカッション",
    "講師を招いた勉強会",
    "経験年数が近い人どうしの交流",
    "事業別テーマ",
]
EXPECTATIONS = [
    "報告・提言",
    "支援者どうしをつなぐ",
    "困ったときに相談できる場",
    "各地域の取り組みの事例集",
    "研修・人材育成",
]

USEFUL = {
    "key": "useful",
    "text": _("情報交換会は役に立ちましたか"),
    "kind": QuestionKind.SCALE,
    "required": True,
    "scale_min_label": _("役に立たなかった"),
    "scale_max_label": _("とても役に立った"),
}
CONTINUE = {
    "key": "continue",
    "text": _("情報交換会の継続を希望しますか"),
    "kind": QuestionKind.SINGLE,
    "required": True,
    "choices": [YES, NO, UNSURE],
}
FORMAT = {
    "key": "format",
    "text": _("今後の情報交換会に希望する形式（複数回答可）"),
    "kind": QuestionKind.MULTIPLE,
    "choices": FORMATS,
    "allow_other": True,
}
COMMENTS = {
    "key": "comments",
    "text": _("ご意見・ご感想（自由記述）"),
    "kind": QuestionKind.TEXT,
}

TEMPLATES = {
    "post_event": {
        "label": _("イベント後アンケート（標準）"),
        "questions": [
            USEFUL,
            CONTINUE,
            {
                "key": "frequency",
                "text": _("希望する開催頻度"),
                "kind": QuestionKind.SINGLE,
                "choices": FREQUENCIES,
            },
            FORMAT,
            {
                "key": "expectations",
                "text": _("支援者支援に期待すること（複数回答可）"),
                "kind": QuestionKind.MULTIPLE,
                "choices": EXPECTATIONS,
            },
            COMMENTS,
        ],
    },
    "annual": {
        "label": _("年次アンケート（効果検証）"),
        "questions": [
            {
                "key": "attended",
                "text": _("今年度、情報交換会に参加したことがありますか"),
                "kind": QuestionKind.SINGLE,
                "required": True,
                "choices": [ATTENDED, NOT_ATTENDED],
            },
            # Asked only of those who came; the seed's ">90% useful" is of them.
            {**USEFUL, "show_if": ("attended", ATTENDED)},
            CONTINUE,
            {**FORMAT, "text": _("情報交換会への希望（複数回答可）")},
            COMMENTS,
        ],
    },
    # Sent automatically when a back-up menu's engagement is completed, so
    # Ⅳ's verification of Ⅲ is data (support/stats.py reads these keys).
    "support_follow_up": {
        "label": _("後方支援メニューの事後アンケート"),
        "questions": [
            {
                "key": "useful",
                "text": _("今回の後方支援は役に立ちましたか"),
                "kind": QuestionKind.SCALE,
                "required": True,
                "scale_min_label": _("役に立たなかった"),
                "scale_max_label": _("とても役に立った"),
            },
            {
                "key": "solved",
                "text": _("申込のときの困りごとは解決しましたか"),
                "kind": QuestionKind.SINGLE,
                "required": True,
                "choices": ["解決した", "一部解決した", "解決しなかった"],
            },
            {
                "key": "again",
                "text": _("また利用したいですか"),
                "kind": QuestionKind.SINGLE,
                "choices": [YES, NO, UNSURE],
            },
            COMMENTS,
        ],
    },
}
