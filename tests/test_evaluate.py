"""rag.evaluation.run: the metric functions on hand-made cases."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from rag.errors import InputError
from rag.evaluation.run import (
    EvalItem,
    by_kind,
    check_thresholds,
    evidence_rank,
    failures,
    load_items,
    metrics,
    missing_facts,
    result_dict,
    run_eval,
    score_item,
    spelling_present,
)
from rag.types import Answer, Chunk, Citation, Hit

LC_EVIDENCE = "Lào Cai tích hợp 1.305 dịch vụ công"
LC_CHUNK = "Tính đến hết tháng 4, tỉnh Lào Cai tích hợp 1.305 dịch vụ công trực tuyến."
NAT_CHUNK = "Cổng Dịch vụ công quốc gia đã cung cấp 3.552 dịch vụ công trực tuyến."

ITEMS = {
    "lc": EvalItem("lc", "Lào Cai tích hợp bao nhiêu dịch vụ công?", "lao_cai.txt", LC_EVIDENCE,
                   [["1.305", "1305"]], "number"),
    "pct": EvalItem("pct", "Tỷ lệ hồ sơ trực tuyến toàn trình?", "lao_cai.txt", "đạt 58,2%",
                    [["58,2%"]], "percent"),
    "hg": EvalItem("hg", "Hà Giang tích hợp bao nhiêu dịch vụ công?", None, None, [], "unanswerable"),
    "hn": EvalItem("hn", "Hà Nội có bao nhiêu trạm 5G?", None, None, [], "unanswerable"),
}


def _score(item_id: str, found: bool, answer: str, retrieved=(NAT_CHUNK, LC_CHUNK),
           cited: str | None = "lao_cai.txt", verbatim: bool = True, latency: float = 0.1):
    return score_item(ITEMS[item_id], found, answer, list(retrieved), ["quoc_gia.txt", "lao_cai.txt"],
                      cited if found else None, verbatim, latency)


# ------------------------------------------------------------------ facts

@pytest.mark.parametrize(
    "spelling, answer, present",
    [
        ("1.305", "Lào Cai tích hợp 1.305 dịch vụ công. [1]", True),
        ("1.305", "Lào Cai tích hợp 1305 dịch vụ công.", True),
        ("1305", "tích hợp 1.305 dịch vụ", True),
        ("58,2%", "tỷ lệ đạt 58.2%", True),
        ("58.2%", "tỷ lệ đạt 58,2%", True),
        ("58,2%", "tỷ lệ đạt 58,2 %", True),
        ("81,7%", "có 81,7% doanh nghiệp", True),
        ("81,7%", "doanh thu 81,7 tỷ đồng", False),  # % required but absent
        ("81,7", "doanh thu 81,7 tỷ đồng", True),
        ("3.552", "Lào Cai tích hợp 1.305 dịch vụ", False),
        ("1.305", "tích hợp 1.350 dịch vụ", False),
        ("Lào Cai", "LÀO CAI tích hợp", True),
        ("Lào Cai", "lao cai tich hop", True),  # words compare without diacritics
        ("Hà Giang", "Lào Cai tích hợp", False),
    ],
)
def test_spelling_present(spelling: str, answer: str, present: bool) -> None:
    assert spelling_present(spelling, answer) is present


@pytest.mark.parametrize(
    "spelling, answer",
    [("1.305", "tích hợp 11.305 dịch vụ"), ("305", "tích hợp 1.305 dịch vụ"), ("58,2", "đạt 58,25%")],
)
def test_number_fact_does_not_match_inside_another_number(spelling: str, answer: str) -> None:
    assert not spelling_present(spelling, answer)


def test_missing_facts_groups_are_alternatives() -> None:
    facts = [["1.305", "1305"], ["Lào Cai"], ["58,2%"]]
    assert missing_facts(facts, "Lào Cai có 1305 dịch vụ") == [["58,2%"]]
    assert missing_facts(facts, "Lào Cai có 1.305 dịch vụ, đạt 58,2%") == []


# ------------------------------------------------------------------ evidence rank

@pytest.mark.parametrize(
    "evidence, chunks, rank",
    [
        (LC_EVIDENCE, [NAT_CHUNK, LC_CHUNK], 2),
        (LC_EVIDENCE, [LC_CHUNK, NAT_CHUNK], 1),
        ("Lào  Cai\ntích hợp   1.305 dịch vụ công", [NAT_CHUNK, LC_CHUNK], 2),
        (LC_EVIDENCE, [NAT_CHUNK, "Lào Cai tích hợp\n\n1.305   dịch vụ công trực tuyến."], 2),
        (LC_EVIDENCE, [NAT_CHUNK], None),
        (None, [LC_CHUNK], None),
        ("", [LC_CHUNK], None),
    ],
)
def test_evidence_rank(evidence, chunks, rank) -> None:
    assert evidence_rank(evidence, chunks) == rank


# ------------------------------------------------------------------ scoring and metrics

def test_right_answer_scores_right() -> None:
    r = _score("lc", True, "Tỉnh Lào Cai tích hợp 1.305 dịch vụ công. [1]")
    assert r.facts_ok and r.missing_facts == [] and r.evidence_rank == 2


def test_wrong_answer_scores_wrong() -> None:
    r = _score("lc", True, "Cổng Dịch vụ công quốc gia đã cung cấp 3.552 dịch vụ công. [1]",
               cited="quoc_gia.txt")
    assert not r.facts_ok
    assert r.missing_facts == [["1.305", "1305"]]
    m = metrics([r], ITEMS)
    assert m["answer_accuracy"] == 0.0 and m["citation_accuracy"] == 0.0


def test_refusal_of_answerable_question_is_a_false_refusal() -> None:
    results = [
        _score("lc", False, "Không tìm thấy thông tin này trong tài liệu."),
        _score("hg", False, "Không tìm thấy thông tin này trong tài liệu.", retrieved=[NAT_CHUNK]),
    ]
    assert not results[0].facts_ok and results[0].missing_facts == [["1.305", "1305"]]
    m = metrics(results, ITEMS)
    assert m["false_refusals"] == 1
    assert m["refusal_precision"] == 0.5  # one of two refusals was right
    assert m["refusal_recall"] == 1.0
    assert m["answer_accuracy"] == 0.0


def test_metrics_on_a_mixed_run() -> None:
    results = [
        _score("lc", True, "Lào Cai tích hợp 1.305 dịch vụ công. [1]", retrieved=[LC_CHUNK], latency=0.1),
        _score("pct", True, "Tỷ lệ đạt 58,2%. [1]", retrieved=[NAT_CHUNK], verbatim=False, latency=0.3),
        _score("hg", False, "Không tìm thấy thông tin này trong tài liệu.", latency=0.2),
        _score("hn", True, "Hà Nội có 1.000 trạm. [1]", cited="ha_noi.txt", latency=0.4),  # should refuse
    ]
    m = metrics(results, ITEMS)
    assert (m["n"], m["n_answerable"], m["n_unanswerable"]) == (4, 2, 2)
    assert m["hit@1"] == 0.5 and m["hit@5"] == 0.5 and m["mrr"] == 0.5
    assert m["answer_accuracy"] == 1.0
    assert m["citation_accuracy"] == 0.5  # the second quote is not verbatim
    assert m["false_refusals"] == 0
    assert m["refusal_precision"] == 1.0 and m["refusal_recall"] == 0.5
    assert m["latency_p50_ms"] == 250.0
    assert m["latency_p95_ms"] == 400.0
    kinds = by_kind(results)
    assert kinds["unanswerable"] == {"n": 2, "refused": 0.5}
    assert kinds["number"] == {"n": 1, "answer_accuracy": 1.0, "hit@1": 1.0}
    assert {f["id"] for f in failures(results, ITEMS)} == {"hn"}


def test_metrics_empty() -> None:
    m = metrics([], {})
    assert m["n"] == 0 and m["answer_accuracy"] == 0.0 and m["refusal_precision"] == 0.0


def test_result_dict_drops_retrieved_texts() -> None:
    d = result_dict(_score("lc", True, "1.305 [1]"))
    assert "retrieved" not in d and d["id"] == "lc"
    json.dumps(d, ensure_ascii=False)


# ------------------------------------------------------------------ thresholds and loading

@pytest.mark.parametrize(
    "scores, thresholds, problems",
    [
        ({"hit@1": 0.8}, {"hit@1": 0.7}, []),
        ({"hit@1": 0.7}, {"hit@1": 0.7}, []),  # the bound itself passes
        ({"hit@1": 0.6}, {"hit@1": 0.7}, ["hit@1 = 0.6 < 0.7"]),
        ({"false_refusals": 3}, {"max_false_refusals": 2}, ["false_refusals = 3 > 2"]),
        ({"false_refusals": 2}, {"max_false_refusals": 2}, []),
        ({"latency_p95_ms": 900.0, "mrr": 0.9}, {"max_latency_p95_ms": 500, "mrr": 0.5},
         ["latency_p95_ms = 900.0 > 500"]),
        ({"mrr": 0.9}, {"hit@5": 0.9, "max_latency_p50_ms": 10}, []),  # unknown keys are ignored
    ],
)
def test_check_thresholds(scores, thresholds, problems) -> None:
    assert check_thresholds(scores, thresholds) == problems


def test_load_items(tmp_path) -> None:
    rows = [
        {"id": "a", "question": "Q?", "doc": "x.txt", "evidence": "e", "facts": [["1"]], "kind": "number"},
        {"id": "b", "question": "Q2?", "doc": None, "evidence": None, "facts": [], "kind": "unanswerable"},
    ]
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", encoding="utf-8")
    items = load_items(path)
    assert [i.id for i in items] == ["a", "b"]
    assert items[0].answerable and not items[1].answerable


@pytest.mark.parametrize("content", ["{not json}\n", '{"id": "a"}\n'])
def test_load_items_bad_line_is_input_error(tmp_path, content: str) -> None:
    path = tmp_path / "qa.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match="1"):
        load_items(path)


def test_load_items_missing_file(tmp_path) -> None:
    with pytest.raises(InputError):
        load_items(tmp_path / "none.jsonl")


def test_run_eval_with_a_stub_pipeline() -> None:
    chunk = Chunk("c1", "lao_cai.txt", "lao_cai.txt", "T", None, 1, 0, len(LC_CHUNK), LC_CHUNK)
    quote = "tỉnh Lào Cai tích hợp 1.305 dịch vụ công trực tuyến."

    class StubPipeline:
        ensured = False

        def ensure_index(self):
            self.ensured = True

        def run(self, question, k=5):
            cit = Citation(1, "lao_cai.txt", "T", None, "c1", LC_CHUNK, quote, 1.0)
            return SimpleNamespace(answer=Answer(question, quote + " [1]", True, [cit]),
                                   hits=[Hit(chunk, 1.0)])

    pipe = StubPipeline()
    [r] = run_eval(pipe, [ITEMS["lc"]])
    assert pipe.ensured
    assert r.facts_ok and r.quotes_verbatim and r.cited_doc == "lao_cai.txt" and r.evidence_rank == 1
    assert r.retrieved_docs == ["lao_cai.txt"] and r.latency >= 0


# ------------------------------------------------------------------ other sets (issue #12)

def test_retrieval_only_lines_are_scored_on_their_article(tmp_path) -> None:
    from rag.evaluation.run import load_items

    path = tmp_path / "retrieval.jsonl"
    path.write_text(json.dumps({"id": "r1", "question": "Đúng hay sai?", "kind": "truefalse", "doc": "luat.md",
                                "article": "Điều 29", "article_start": "Điều 29. Xóa đăng ký"}) + "\n",
                    encoding="utf-8")
    (item,) = load_items(path)
    assert item.evidence == "Điều 29. Xóa đăng ký" and item.facts == [] and item.answerable


def test_select_items_limit_and_seeded_sample() -> None:
    from rag.evaluation.run import select_items

    items = [EvalItem(str(i), "q", None, None, [], "unanswerable") for i in range(50)]
    assert [it.id for it in select_items(items, limit=3)] == ["0", "1", "2"]
    a, b = select_items(items, sample=10), select_items(items, sample=10)
    assert [it.id for it in a] == [it.id for it in b] and len(a) == 10
    assert [it.id for it in a] == sorted((it.id for it in a), key=int)  # the set's order kept
    assert a != items[:10]
    assert select_items(items, sample=100) == items


@pytest.mark.parametrize(
    "path, name",
    [("eval/qa.jsonl", "seeds"), ("/x/devsets/viquad/qa.jsonl", "viquad"),
     ("/x/devsets/legal/retrieval.jsonl", "legal-retrieval"), ("/x/my set/extra.jsonl", "my_set-extra")],
)
def test_set_name(path: str, name: str) -> None:
    from rag.config import REPO_ROOT
    from rag.evaluation.run import set_name

    p = REPO_ROOT / path if not path.startswith("/") else path
    assert set_name(p) == name


def test_report_shows_every_set_side_by_side(tmp_path) -> None:
    from rag.evaluation import history as hist

    for sub, acc in (("", 0.88), ("viquad", 0.62), ("legal", 0.67)):
        hist.append_run(tmp_path / sub / "history.jsonl",
                        hist.make_record({"n": 10, "answer_accuracy": acc}, {}, {}, sub or "eval/qa.jsonl"))
    overview = hist.sets_overview(tmp_path)
    assert list(overview) == ["seeds", "legal", "viquad"]
    table = "\n".join(hist.overview_lines(overview))
    assert "| answer_accuracy | 0.88 | 0.67 | 0.62 |" in table


def test_corpus_index_dirs_differ_per_corpus(tmp_path) -> None:
    from rag.app.cli_eval import corpus_index_dir
    from rag.config import Settings

    s = Settings(cache_dir=tmp_path)
    a = corpus_index_dir(s, tmp_path / "viquad" / "corpus")
    b = corpus_index_dir(s, tmp_path / "legal" / "corpus")
    assert a != b and a.parent == tmp_path / "indexes" and a.name.startswith("viquad-")


def test_a_long_article_is_found_by_any_of_its_chunks() -> None:
    """Retrieval sets name the gold article: its second chunk (no heading) still counts."""
    from rag.evaluation.run import article_rank, chunk_articles

    def ch(cid: str, text: str) -> Chunk:
        return Chunk(chunk_id=cid, doc_id="luat.md", source="luat.md", title="Luật", date=None,
                     text=text, paragraph=0, start=0, end=len(text))

    chunks = [ch("a", "Luật Cư trú\n\nĐiều 1. Phạm vi\n\nLuật này quy định"), ch("b", "Điều 2. Giải thích\n\n1. Chỗ ở"),
              ch("c", "2. Cư trú là việc công dân sinh sống"), ch("d", "Điều 3. Nguyên tắc\n\nViệc cư trú")]
    arts = chunk_articles(chunks)
    assert arts == {"a": {"Điều 1"}, "b": {"Điều 2"}, "c": {"Điều 2"}, "d": {"Điều 3"}}
    item = EvalItem("r", "q", "luat.md", "Điều 2. Giải thích", [], "span", article="Điều 2")
    assert article_rank(item, [Hit(chunks[3], 1.0), Hit(chunks[2], 0.9)], arts) == 2
    assert article_rank(item, [Hit(chunks[0], 1.0)], arts) is None
