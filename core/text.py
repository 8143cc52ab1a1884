"""Folding text for search: the one normalisation that stored search keys and
typed queries both go through, so that what was stored and what is typed meet.

Kana are folded to hiragana (names' readings are stored in hiragana, phones
type katakana), NFKC folds full-width letters and half-width katakana
(「ﾔﾏﾀﾞ」 → 「やまだ」, 「ＡＢＣ」 → 「abc」), letters are lower-cased and
spaces removed (「山田 花子」 and 「山田花子」 are one key).
"""

import unicodedata

# ァ (U+30A1) … ヶ (U+30F6) have hiragana 0x60 below them; ヷ–ヺ and ー have none.
_KATAKANA_TO_HIRAGANA = {code: code - 0x60 for code in range(ord("ァ"), ord("ヶ") + 1)}
_KATAKANA_TO_HIRAGANA.update({ord("ヽ"): ord("ゝ"), ord("ヾ"): ord("ゞ")})


def fold_characters(text: str) -> str:
    """Every character folded, spaces kept: NFKC, lower case, katakana as hiragana."""
    folded = unicodedata.normalize("NFKC", text or "")
    # lower() can leave a string that is not NFKC (e.g. İ → i + combining dot).
    return unicodedata.normalize("NFKC", folded.lower()).translate(_KATAKANA_TO_HIRAGANA)


def fold(text: str) -> str:
    """`text` as a search key: hiragana, NFKC width-folded, lower case, no spaces."""
    return "".join(fold_characters(text).split())


def fold_words(text: str) -> list[str]:
    """The words of a typed query (split at any space, also 「　」), each folded."""
    return [word for word in fold_characters(text).split() if word]
