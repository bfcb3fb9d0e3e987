"""rag.vi.vocab: diacritic restoration from the corpus's own vocabulary."""

from __future__ import annotations

import json

import pytest

from rag.vi.vocab import Vocabulary

CORPUS_TEXTS = [
    "Lào Cai tích hợp 1.305 dịch vụ công trực tuyến lên Cổng Dịch vụ công quốc gia.",
    "Cổng Dịch vụ công quốc gia có 3.552 dịch vụ công, phục vụ người dân và doanh nghiệp.",
    "Tỷ lệ hồ sơ trực tuyến toàn trình của tỉnh đạt 58,2% trong quý I.",
]


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return Vocabulary.build(CORPUS_TEXTS)


@pytest.mark.parametrize(
    "question, restored",
    [
        ("lao cai tich hop bao nhieu dich vu cong", "lào cai tích hợp bao nhiêu dịch vụ công"),
        ("Lao Cai tich hop bao nhieu dich vu cong?", "Lào Cai tích hợp bao nhiêu dịch vụ công?"),
        ("cong dich vu cong quoc gia co bao nhieu dich vu",
         "cổng dịch vụ công quốc gia có bao nhiêu dịch vụ"),
        ("ty le ho so truc tuyen toan trinh", "tỷ lệ hồ sơ trực tuyến toàn trình"),
        # question words and provinces come from the built-in lexicon, not the corpus
        ("ha noi co bao nhieu", "hà nội có bao nhiêu"),
    ],
)
def test_restore(vocab: Vocabulary, question: str, restored: str) -> None:
    assert vocab.restore(question) == restored


@pytest.mark.parametrize(
    "text",
    [
        "lào cai tích hợp",  # already marked
        "Lào Cai tích hợp bao nhiêu dịch vụ công?",
        "1.305 58,2 2023",  # numbers untouched
        "xyzzy qwerty",  # unknown words untouched
        "",
    ],
)
def test_marked_numbers_and_unknown_words_stay(vocab: Vocabulary, text: str) -> None:
    assert vocab.restore(text) == text


def test_only_unmarked_words_change(vocab: Vocabulary) -> None:
    assert vocab.restore("lào cai tich hop 1305 dich vu") == "lào cai tích hợp 1305 dịch vụ"
    assert vocab.restore("xyzzy lao cai") == "xyzzy lào cai"


def test_capitalisation_and_punctuation_kept(vocab: Vocabulary) -> None:
    assert vocab.restore("Tich hop, Lao Cai: bao nhieu?") == "Tích hợp, Lào Cai: bao nhiêu?"


def test_all_caps_kept(vocab: Vocabulary) -> None:
    assert vocab.restore("LAO CAI tich hop") == "LÀO CAI tích hợp"


def test_context_picks_the_right_homograph() -> None:
    # 'cong' folds from both 'cổng' and 'công'; bigrams decide
    v = Vocabulary.build(["Cổng thông tin của tỉnh.", "Dịch vụ công trực tuyến."] * 3)
    assert v.restore("cong thong tin") == "cổng thông tin"
    assert v.restore("dich vu cong truc tuyen") == "dịch vụ công trực tuyến"


def test_round_trip_through_json(vocab: Vocabulary) -> None:
    again = Vocabulary.from_dict(json.loads(json.dumps(vocab.to_dict(), ensure_ascii=False)))
    q = "lao cai tich hop bao nhieu dich vu cong"
    assert again.restore(q) == vocab.restore(q)


def test_empty_vocabulary_changes_nothing() -> None:
    assert Vocabulary().restore("lao cai tich hop") == "lao cai tich hop"
