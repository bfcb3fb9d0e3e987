"""Follow-up resolution: elliptical questions become standalone ones; others stay as typed."""

from __future__ import annotations

import pytest

from rag.search.conversation import Conversation, find_entities, followup_phrase, resolve_followup

LAO_CAI = "Lào Cai tích hợp bao nhiêu dịch vụ công?"


@pytest.mark.parametrize("followup, previous, expected", [
    ("Còn Thái Nguyên thì sao?", LAO_CAI, "Thái Nguyên tích hợp bao nhiêu dịch vụ công?"),
    ("thế còn Thái Nguyên?", LAO_CAI, "Thái Nguyên tích hợp bao nhiêu dịch vụ công?"),
    ("Vậy còn Thái Nguyên thì thế nào ạ?", LAO_CAI, "Thái Nguyên tích hợp bao nhiêu dịch vụ công?"),
    ("Thái Nguyên thì sao", LAO_CAI, "Thái Nguyên tích hợp bao nhiêu dịch vụ công?"),
    ("con thai nguyen thi sao", LAO_CAI, "Thái Nguyên tích hợp bao nhiêu dịch vụ công?"),  # no marks
    ("Còn tỉnh Trà Vinh?", "Tỉnh Lào Cai đạt bao nhiêu phần trăm?", "Tỉnh Trà Vinh đạt bao nhiêu phần trăm?"),
    ("Còn Hà Nội thì sao?", "Tỉnh Lào Cai đạt bao nhiêu phần trăm?",
     "Thành phố Hà Nội đạt bao nhiêu phần trăm?"),
    ("What about Thai Nguyen?", "How many public services did Lao Cai integrate?",
     "How many public services did Thái Nguyên integrate?"),
    ("Còn Bộ Y tế?", "Bộ Công an đã hoàn thành bao nhiêu nhiệm vụ?", "Bộ Y tế đã hoàn thành bao nhiêu nhiệm vụ?"),
    ("Còn quý II thì sao?", "Quý I/2022 Lào Cai có bao nhiêu hồ sơ trực tuyến?",
     "Quý II/2022 Lào Cai có bao nhiêu hồ sơ trực tuyến?"),
    ("Năm 2023 thì sao?", "Năm 2022 có bao nhiêu doanh nghiệp số?", "Năm 2023 có bao nhiêu doanh nghiệp số?"),
    # the previous question named no year: the year is added
    ("Còn năm 2023 thì sao?", LAO_CAI, "Lào Cai tích hợp bao nhiêu dịch vụ công năm 2023?"),
    # two kinds at once
    ("Còn Thái Nguyên năm 2025 thì sao?", "Năm 2022 Lào Cai tích hợp bao nhiêu dịch vụ công?",
     "Năm 2025 Thái Nguyên tích hợp bao nhiêu dịch vụ công?"),
    # every mention of the old name changes
    ("Còn Thái Nguyên?", "Lào Cai xếp thứ mấy về chỉ số chuyển đổi số của tỉnh Lào Cai?",
     "Thái Nguyên xếp thứ mấy về chỉ số chuyển đổi số của tỉnh Thái Nguyên?"),
])
def test_followups_become_standalone(followup, previous, expected):
    res = resolve_followup(followup, [previous])
    assert res.question == expected
    assert res.rewritten and res.original == followup


@pytest.mark.parametrize("question", [
    "Trà Vinh tích hợp bao nhiêu dịch vụ công?",  # a full question naming a place
    "Còn bao nhiêu nhiệm vụ chưa hoàn thành năm 2023?",  # starts with "còn", but is not elliptical
    "Nếu Lào Cai không đạt chỉ tiêu thì sao?",  # "… thì sao" around a whole clause
    "Còn gì nữa không?",  # no entity to substitute
    "Còn Lào Cai thì sao?",  # the same entity: nothing to change
    "Đề án 06 là gì?",
])
def test_non_followups_are_untouched(question):
    res = resolve_followup(question, [LAO_CAI])
    assert res.question == question and not res.rewritten


def test_no_history_means_nothing_to_resolve():
    assert resolve_followup("Còn Thái Nguyên thì sao?", []).question == "Còn Thái Nguyên thì sao?"


def test_conversation_chains_follow_ups_on_the_last_standalone_question():
    conv = Conversation()
    assert conv.resolve(LAO_CAI).question == LAO_CAI
    assert conv.resolve("Còn Thái Nguyên thì sao?").question == "Thái Nguyên tích hợp bao nhiêu dịch vụ công?"
    third = conv.resolve("Còn năm 2022?")
    assert third.question == "Thái Nguyên tích hợp bao nhiêu dịch vụ công năm 2022?"
    assert third.added == ["năm 2022"]
    assert conv.history[-1] == third.question


def test_replacements_are_reported():
    res = resolve_followup("Còn Thái Nguyên thì sao?", [LAO_CAI])
    assert res.replaced == [("Lào Cai", "Thái Nguyên")]


def test_find_entities_kinds_and_offsets():
    text = "Quý I/2022, Bộ Công an và tỉnh Lào Cai"
    ents = find_entities(text)
    assert [(e.kind, text[e.start:e.end]) for e in ents] == [
        ("period", "Quý I"), ("year", "2022"), ("ministry", "Bộ Công an"), ("place", "Lào Cai")]


@pytest.mark.parametrize("question, phrase", [
    ("Còn Thái Nguyên thì sao?", "Thái Nguyên"),
    ("Thế còn năm 2023?", "năm 2023"),
    ("what about 2023?", "2023"),
    ("Lào Cai tích hợp bao nhiêu dịch vụ công?", None),
])
def test_followup_phrase(question, phrase):
    assert followup_phrase(question) == phrase
