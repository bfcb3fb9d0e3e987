"""`rag serve`'s HTTP API over a real uvicorn server on loopback, with the fake embedder.

Contract (`/api/ask` is exactly `rag ask --json`), filters, errors (4xx with a Vietnamese/English
JSON message, never a traceback), documents, SSE streaming, the official `openai` client against
`/v1/chat/completions`, health and metrics, and 50 different questions at once.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from api_server import LiveServer
from click.testing import CliRunner
from conftest import CORPUS, FakeEmbedder, write_files

from rag.app.api import create_app
from rag.config import Settings
from rag.pipeline import Pipeline
from rag.vi.gazetteer import PROVINCES

# 50 provinces, each with its own count: the concurrency test's questions must have distinct answers
OTHERS = [p for p in PROVINCES if p not in {"Lào Cai", "Đà Nẵng", "Huế", "Hồ Chí Minh"}][:50]


def count_for(i: int) -> str:
    return f"{1100 + 7 * i:,}".replace(",", ".")


def province_doc(i: int, p: str) -> str:
    """The province's name every few words, so that no two documents look like near-duplicates."""
    return (f"{p} mở rộng dịch vụ công trực tuyến\nCập nhật: 0{1 + i % 9}/06/2023 08:00\n"
            f"Tính đến hết tháng 5, tỉnh {p} tích hợp {count_for(i)} dịch vụ công trực tuyến lên Cổng "
            "Dịch vụ công quốc gia.\n"
            f"Ủy ban nhân dân {p} giao Sở Thông tin {p} hướng dẫn người dân {p} nộp hồ sơ {p} trực tuyến, "
            f"cán bộ một cửa {p} ký số và thanh toán {p} qua nền tảng số {p}.\n")


LAO_CAI_Q = "Lào Cai tích hợp bao nhiêu dịch vụ công trực tuyến?"


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("api")
    files = {**CORPUS, **{f"tinh_{i:02d}.txt": province_doc(i, p) for i, p in enumerate(OTHERS)}}
    return Settings(corpus=write_files(root / "corpus", files), index_dir=root / "index", show_progress=False)


@pytest.fixture(scope="module")
def live(settings):
    server = LiveServer(create_app(pipeline=Pipeline(settings, embedder=FakeEmbedder()))).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def http(live):
    with httpx.Client(base_url=live.url, timeout=60) as client:
        yield client


def ask(http, **body) -> httpx.Response:
    return http.post("/api/ask", json=body)


# ------------------------------------------------------------------ /api/ask

def test_ask_returns_exactly_the_cli_json(http, settings, monkeypatch):
    got = ask(http, question=LAO_CAI_Q, k=3)
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/json")
    monkeypatch.setattr("rag.pipeline.load_embedder", lambda s: FakeEmbedder())
    for key in ("RAG_HOME", "RAG_ANSWERER"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("RAG_CORPUS", str(settings.corpus))
    cli = CliRunner().invoke(__import__("rag.app.cli", fromlist=["main"]).main,
                             ["-q", "--index-dir", str(settings.index_dir), "ask", LAO_CAI_Q, "-k", "3", "--json"])
    assert cli.exit_code == 0, cli.output
    assert got.json() == json.loads(cli.stdout)
    body = got.json()
    assert body["found"] and "1.305" in body["answer"] and body["citations"][0]["doc"] == "lao_cai.txt"


def test_filters_restrict_the_documents(http):
    only = ask(http, question="Cổng Dịch vụ công quốc gia cung cấp bao nhiêu dịch vụ công?",
               filters={"docs": ["da_nang.txt"]}).json()
    assert {c["doc"] for c in only["citations"] + only["related"]} == {"da_nang.txt"}
    assert "3.552" not in only["answer"]
    dated = ask(http, question="dịch vụ công trực tuyến", k=10,
                filters={"date_from": "2023-06-01", "date_to": "2023-06-03"}).json()
    dates = {c["date"] for c in dated["citations"] + dated["related"]}
    assert dates and dates <= {"2023-06-01", "2023-06-02", "2023-06-03"}


def test_unaccented_question_is_answered(http):
    body = ask(http, question="lao cai tich hop bao nhieu dich vu cong truc tuyen").json()
    assert body["found"] and "1.305" in body["answer"]


# ------------------------------------------------------------------ errors: 4xx, one JSON line, both languages

def _assert_error(resp: httpx.Response, status: int, *words: str) -> str:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert "Traceback" not in resp.text
    message = resp.json()["error"]["message"]
    assert " / " in message and "\n" not in message, message  # Vietnamese / English, one line
    for w in words:
        assert w in message, message
    return message


@pytest.mark.parametrize("body, status, words", [
    ({"question": ""}, 400, ["Câu hỏi trống", "empty question"]),
    ({"question": "   \n "}, 400, ["empty question"]),
    ({"question": "dịch vụ công " * 200}, 400, ["quá dài", "too long"]),
    ({}, 422, ["question"]),
    ({"question": 42}, 422, ["question"]),
    ({"question": "Lào Cai?", "k": 0}, 422, ["k"]),
    ({"question": "Lào Cai?", "k": 500}, 422, ["k"]),
    ({"question": "Lào Cai?", "answerer": "gpt-9"}, 422, ["answerer"]),
    ({"question": "Lào Cai?", "temperature": 1}, 422, ["temperature"]),
    ({"question": "Lào Cai?", "filters": {"date_from": "hôm qua"}}, 422, ["date_from"]),
    ({"question": "Lào Cai?", "filters": {"docs": ["khong-co.txt"]}}, 400, ["khong-co.txt", "unknown document"]),
])
def test_bad_ask_bodies(http, body, status, words):
    _assert_error(http.post("/api/ask", json=body), status, *words)


def test_malformed_json_and_wrong_content(http):
    _assert_error(http.post("/api/ask", content=b'{"question": "Lao Cai', headers={"Content-Type": "application/json"}),
                  400, "JSON")
    _assert_error(http.post("/api/ask", content=b"[1, 2]", headers={"Content-Type": "application/json"}), 422)
    _assert_error(http.post("/api/ask", content=b"question=x", headers={"Content-Type": "text/plain"}), 422)


def test_huge_body_is_refused_before_parsing(http):
    _assert_error(http.post("/api/ask", json={"question": "x" * 400_000}), 413, "too large")


def test_unknown_route_and_method(http):
    _assert_error(http.get("/api/nothing"), 404, "not found")
    _assert_error(http.get("/api/ask"), 405)


# ------------------------------------------------------------------ documents

def test_list_documents(http):
    body = http.get("/api/documents").json()
    ids = {d["id"] for d in body["documents"]}
    assert {"lao_cai.txt", "quoc_gia.txt", "da_nang.txt"} <= ids and len(ids) == 3 + len(OTHERS)
    lao = next(d for d in body["documents"] if d["id"] == "lao_cai.txt")
    assert lao["source"] == "lao_cai.txt" and lao["date"] == "2023-05-10" and lao["chunks"] >= 1
    assert body["chunks"] >= len(ids)


UPLOAD = ("Bình Dương số hóa hồ sơ\nCập nhật: 12/07/2023 10:00\n"
          "Tỉnh Bình Dương đã số hóa 4.321 hồ sơ thủ tục hành chính trong sáu tháng đầu năm 2023, "
          "giúp người dân không phải nộp lại giấy tờ đã có trong kho dữ liệu điện tử của tỉnh.\n"
          "Sở Thông tin và Truyền thông tỉnh hướng dẫn các xã triển khai ký số cho cán bộ một cửa.\n")


def test_upload_then_ask(http):
    question = "Bình Dương đã số hóa bao nhiêu hồ sơ thủ tục hành chính?"
    before = ask(http, question=question).json()
    assert "4.321" not in before["answer"]
    resp = http.post("/api/documents", files={"file": ("so-hoa bình dương.txt", UPLOAD.encode(), "text/plain")})
    assert resp.status_code == 201, resp.text
    doc = resp.json()
    assert doc["chunks"] >= 1 and doc["replaced"] is False and doc["source"].endswith(".txt")
    assert doc["id"] in {d["id"] for d in http.get("/api/documents").json()["documents"]}
    after = ask(http, question=question).json()
    assert after["found"] and "4.321" in after["answer"], after["answer"]
    assert http.get("/healthz").json()["documents"] == 3 + len(OTHERS) + 1


@pytest.mark.parametrize("name, data, status, words", [
    ("virus.exe", b"MZ\x90\x00", 400, ["không được hỗ trợ"]),
    ("rong.txt", b"   \n", 400, ["rỗng"]),
    ("gia.pdf", b"<html>not a pdf</html>", 400, ["không phải PDF"]),
    ("utf16.txt", "Lào Cai".encode("utf-16"), 400, ["utf16.txt"]),
])
def test_bad_uploads_leave_the_index_alone(http, name, data, status, words):
    before = http.get("/api/documents").json()
    resp = http.post("/api/documents", files={"file": (name, data, "application/octet-stream")})
    assert resp.status_code == status, resp.text
    message = resp.json()["error"]["message"]
    assert all(w in message for w in words), message
    assert http.get("/api/documents").json() == before


def test_upload_without_file_and_oversize(http):
    _assert_error(http.post("/api/documents", data={"x": "1"}), 422, "file")
    big = b"a" * (21 * 1024 * 1024)
    _assert_error(http.post("/api/documents", files={"file": ("lon.txt", big, "text/plain")}), 413, "too large")


def test_delete_document(http, settings):
    question = "Hải Đăng đã cấp bao nhiêu chữ ký số cho cán bộ?"
    text = ("Hải Đăng cấp chữ ký số\nCập nhật: 03/08/2023 09:00\nĐơn vị Hải Đăng đã cấp 2.468 chữ ký số cho cán bộ, "
            "công chức để ký văn bản điện tử trên hệ thống quản lý văn bản và điều hành của đơn vị.\n")
    doc = http.post("/api/documents", files={"file": ("hai-dang.txt", text.encode(), "text/plain")}).json()
    assert "2.468" in ask(http, question=question).json()["answer"]
    resp = http.delete(f"/api/documents/{doc['id']}")
    assert resp.status_code == 200 and resp.json() == {"removed": [doc["id"]]}
    assert doc["id"] not in {d["id"] for d in http.get("/api/documents").json()["documents"]}
    assert "2.468" not in ask(http, question=question).json()["answer"]
    assert not (settings.index_dir / "uploads" / "hai-dang.txt").exists()  # the uploaded copy goes too
    _assert_error(http.delete(f"/api/documents/{doc['id']}"), 404, "unknown document")


def test_delete_unknown_document(http):
    _assert_error(http.delete("/api/documents/khong-co.txt"), 404, "unknown document", "khong-co.txt")


def test_changing_documents_needs_the_token_when_one_is_set(make_corpus, settings_for):
    settings = settings_for(make_corpus(), api_token="bi-mat-123")
    server = LiveServer(create_app(pipeline=Pipeline(settings, embedder=FakeEmbedder()))).start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            files = {"file": ("moi.txt", UPLOAD.encode(), "text/plain")}
            _assert_error(c.post("/api/documents", files=files), 401, "RAG_API_TOKEN")
            _assert_error(c.post("/api/documents", files=files, headers={"Authorization": "Bearer sai"}), 401)
            _assert_error(c.delete("/api/documents/lao_cai.txt"), 401)
            assert c.post("/api/ask", json={"question": LAO_CAI_Q}).status_code == 200  # asking stays open
            ok = {"Authorization": "Bearer bi-mat-123"}
            assert c.post("/api/documents", files=files, headers=ok).status_code == 201
            assert c.delete("/api/documents/lao_cai.txt", headers=ok).status_code == 200
    finally:
        server.stop()


# ------------------------------------------------------------------ health and metrics

def test_healthz(http):
    body = http.get("/healthz").json()
    assert body["status"] == "ok" and body["index_loaded"] and body["store_reachable"]
    assert body["chunks"] >= body["documents"] >= 3


def test_metrics_count_requests_latency_and_answers(http):
    ask(http, question=LAO_CAI_Q)
    ask(http, question="Yên Bái tích hợp bao nhiêu dịch vụ công trực tuyến?")  # a province no document names
    http.post("/api/ask", json={"question": ""})
    text = http.get("/metrics").text
    samples = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
               for line in text.splitlines() if line and not line.startswith("#")}
    assert samples['rag_http_requests_total{method="POST",route="/api/ask",status="200"}'] >= 2
    assert samples['rag_http_requests_total{method="POST",route="/api/ask",status="400"}'] >= 1
    assert samples['rag_answers_total{answerer="extractive",outcome="found"}'] >= 1
    assert samples['rag_answers_total{answerer="extractive",outcome="declined"}'] >= 1
    assert samples['rag_http_request_duration_seconds_count{method="POST",route="/api/ask"}'] >= 3
    assert 'rag_http_request_duration_seconds_bucket{le="0.05",method="POST",route="/api/ask"}' in samples


def test_openapi_docs(http):
    assert http.get("/docs").status_code == 200
    paths = http.get("/openapi.json").json()["paths"]
    assert {"/api/ask", "/api/ask/stream", "/api/documents", "/v1/chat/completions", "/healthz"} <= set(paths)


# ------------------------------------------------------------------ concurrency

def test_fifty_parallel_questions_each_get_their_own_answer(live):
    questions = [f"Tỉnh {p} tích hợp bao nhiêu dịch vụ công trực tuyến?" for p in OTHERS]
    with httpx.Client(base_url=live.url, timeout=120) as client:
        serial = [ask(client, question=q).json() for q in questions]
    for i, body in enumerate(serial):  # the baseline is right on its own...
        assert body["found"] and count_for(i) in body["answer"], (questions[i], body["answer"])

    def one(q: str) -> dict:
        with httpx.Client(base_url=live.url, timeout=120) as client:
            return ask(client, question=q).json()

    with ThreadPoolExecutor(max_workers=50) as pool:  # ...and 50 at once change nothing
        parallel = list(pool.map(one, questions))
    for q, s, p in zip(questions, serial, parallel):
        assert p == s, q
