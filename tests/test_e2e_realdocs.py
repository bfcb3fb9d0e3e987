"""End to end: real documents indexed beside the seeds, asked through the CLI with the real model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.config import REPO_ROOT, load_settings
from rag.pipeline import Pipeline

REALDOCS = REPO_ROOT.parent / "shared" / "realdocs"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not REALDOCS.is_dir(), reason=f"real documents not found at {REALDOCS}")]
FILES = ["text/nq-57-ntw-2024.md", "pdf/nq33-2022-hdnd-caobang.pdf", "pdf/2006-19412_QD115.04TTg_BLTch_DNNVV.pdf",
         "pdf/qd-1629-ubnd-laichau-2025.pdf"]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("e2e-real") / "index"
    pipe = Pipeline(load_settings(index_dir=d, show_progress=False))
    pipe.index([REPO_ROOT / "seeds", *(REALDOCS / f for f in FILES)], rebuild=True)
    return d


def ask(index_dir: Path, question: str) -> dict:
    env = {**os.environ, "RAG_INDEX_DIR": str(index_dir), "RAG_SHOW_PROGRESS": "0"}
    proc = subprocess.run([sys.executable, "-m", "rag", "ask", question, "--json"], capture_output=True,
                          text=True, env=env, cwd=REPO_ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("question, doc, expected", [
    ("Nghị quyết 57-NQ/TW được ban hành ngày nào?", "nq-57-ntw-2024.md", "22"),
    ("Mức thu lệ phí cấp giấy phép lao động cho người nước ngoài ở Cao Bằng là bao nhiêu?",
     "nq33-2022-hdnd-caobang.pdf", "600.000 đồng"),
    ("Ban điều hành Quỹ bảo lãnh tín dụng gồm những ai?",
     "2006-19412_QD115.04TTg_BLTch_DNNVV.pdf", "Giám đốc"),
    # a row of a ruled table: the answer is the "thời hạn" cell of row 02, cited with its row
    ("Thủ tục cấp giấy chứng nhận cơ sở ươm tạo công nghệ cao ở Lai Châu được giải quyết trong bao lâu?",
     "qd-1629-ubnd-laichau-2025.pdf", "02 | Cấp giấy chứng nhận cơ sở ươm tạo công nghệ cao"),
])
def test_answers_cite_the_right_real_document(index_dir, question, doc, expected):
    data = ask(index_dir, question)
    cites = data["citations"] or data["related"]
    assert cites and cites[0]["doc"] == doc, (question, [c["doc"] for c in cites])
    assert expected in cites[0]["text"]
    assert {"ocr", "doc_number", "doc_type", "issuer", "also_in"} <= set(cites[0])


def test_table_answer_quotes_the_cell_and_titles_the_decision(index_dir):
    data = ask(index_dir, "Thủ tục cấp giấy chứng nhận cơ sở ươm tạo công nghệ cao ở Lai Châu được giải quyết "
                          "trong bao lâu?")
    assert data["found"], data
    c = data["citations"][0]
    assert c["quote"].startswith("- Trong thời hạn 03 ngày làm việc") and " | " not in c["quote"]
    assert c["title"].startswith("Quyết định 1629/QĐ-UBND – Về việc công bố Danh mục thủ tục hành chính")


def test_legacy_pdf_citation_has_legal_meta(index_dir):
    data = ask(index_dir, "Quyết định 115/2004/QĐ-TTg sửa đổi quy chế của quỹ nào?")
    c = (data["citations"] or data["related"])[0]
    assert c["doc_number"] == "115/2004/QĐ-TTg" and c["doc_type"] == "Quyết định"
    assert c["doc"] == "2006-19412_QD115.04TTg_BLTch_DNNVV.pdf"
    assert "Thủ tướng" in c["text"] and "Q§" not in c["text"] and "Thñ" not in c["text"]
