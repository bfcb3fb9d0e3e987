"""Is this token a Vietnamese syllable? Phonotactic check (onset + rhyme + tone), no word list.

Vietnamese writes every syllable as its own word, and the set of possible syllables is closed:
an onset from ~27, a rhyme from ~150, one tone mark at most, and stop-final rhymes (-p -t -c -ch)
take only the sắc or nặng tone. That makes "is this a syllable" a cheap, general test for three
ingestion problems: text layers that are garbage ("CQNG HOA XA HQI"), words split by PDF extraction
("Hiệu l ực"), and legacy-font conversions that left spaces inside words ("t− íng").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_ONSETS = ("ngh", "ch", "gh", "gi", "kh", "ng", "nh", "ph", "qu", "th", "tr",
           "b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x", "")

_RHYMES = """
a ai ao au ay am an ang anh ap at ac ach
ăm ăn ăng ăp ăt ăc
âu ây âm ân âng âp ât âc
e eo em en eng ep et ec
ê êu êm ên ênh êp êt êch
i ia iu im in inh ip it ich
iêu iêm iên iêng iêp iêt iêc
yêu yêm yên yêng yêt
y
o oi om on ong op ot oc oong ooc
oa oai oao oay oam oan oang oanh oap oat oac oach
oă oăm oăn oăng oăp oăt oăc
oe oeo oen oet
ô ôi ôm ôn ông ôp ôt ôc
ơ ơi ơm ơn ơp ơt
u ua ui um un ung up ut uc
uôi uôm uôn uông uôt uôc
uơ uân uâng uât uây uê uênh uêch uy uya uyu uyn uynh uyt uych uyên uyêt
ư ưa ưi ưu ưm ưn ưng ưt ưc
ươi ươu ươm ươn ương ươp ươt ươc
"""
_RHYME_SET = frozenset(_RHYMES.split())
_STOP_FINALS = ("p", "t", "c", "ch")

# combining marks: grave, acute, hook above, tilde, dot below
_TONE_MARKS = {"\u0300": "huyền", "\u0301": "sắc", "\u0309": "hỏi", "\u0303": "ngã", "\u0323": "nặng"}
_VOWEL_MARKS = {"\u0306", "\u0302", "\u031b"}  # breve (ă), circumflex (â ê ô), horn (ơ ư)

_LETTERS_RE = re.compile(r"[^\W\d_]+")


def _split_tone(syllable: str) -> tuple[str, list[str]] | None:
    """Lowercase base letters (with vowel marks) and the tone marks found; None on foreign marks."""
    base, tones = [], []
    for ch in unicodedata.normalize("NFD", syllable.lower()):
        if ch in _TONE_MARKS:
            tones.append(_TONE_MARKS[ch])
        elif unicodedata.combining(ch) and ch not in _VOWEL_MARKS:
            return None
        else:
            base.append(ch)
    return unicodedata.normalize("NFC", "".join(base)), tones


@lru_cache(maxsize=200_000)
def is_syllable(token: str) -> bool:
    """True if `token` (any case, NFC or not) is a possible Vietnamese syllable.

    Accepts unaccented syllables too ("HOA", "nghia"): text typed without marks is still text.
    Rejects consonant clusters ("CQNG"), impossible rhymes ("ớng"), two tones, and stop-final
    rhymes with a level tone ("bàt").
    """
    if not token or len(token) > 7 or not token.isalpha():
        return False
    if not (token.islower() or token.isupper() or token[1:].islower()):
        return False  # "cHUNG", "HiỆu": case changes inside a syllable do not happen
    split = _split_tone(token)
    if split is None:
        return False
    base, tones = split
    if len(tones) > 1:
        return False
    for onset in _ONSETS:
        if not base.startswith(onset):
            continue
        rhyme = base[len(onset):]
        if rhyme in _RHYME_SET:
            if rhyme.endswith(_STOP_FINALS) and tones and tones[0] not in ("sắc", "nặng"):
                continue
            if onset in ("k", "gh", "ngh") and rhyme[:1] not in ("i", "e", "ê", "y"):
                continue
            return True
    return False


def tokens(text: str) -> list[str]:
    """Letter-only tokens of `text` (numbers and punctuation are neither syllable nor garbage)."""
    return _LETTERS_RE.findall(text)


def syllable_share(text: str) -> float:
    """Share of letter tokens that are Vietnamese syllables; 1.0 for text with no letters."""
    toks = tokens(text)
    if not toks:
        return 1.0
    return sum(is_syllable(t) for t in toks) / len(toks)


def marked_share(text: str) -> float:
    """Share of letter tokens carrying a Vietnamese mark (tone, vowel mark or đ).

    Real Vietnamese prose sits around 0.6–0.8; a text layer whose marks were lost sits near 0.
    """
    toks = tokens(text)
    if not toks:
        return 0.0
    n_plain = sum(1 for t in toks if unicodedata.normalize("NFD", t).isascii())
    return 1 - n_plain / len(toks)
