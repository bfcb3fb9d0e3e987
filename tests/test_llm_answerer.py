"""rag.answerers.llm against a fake OpenAI-compatible server on localhost (tests/llm_fake_server.py):
grounded answers kept, hallucinations / bad citations / wrong subjects / timeouts / server errors
falling back to the extractive answer with the reason, streaming, the CLI's --answerer and --json,
and the lazy import of langchain-openai."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("langchain_openai")

from click.testing import CliRunner  # noqa: E402
from conftest import CORPUS, FakeEmbedder  # noqa: E402
from llm_fake_server import FakeLLM, Sleep, Stall, Status  # noqa: E402

from rag.answerers.base import NOT_FOUND  # noqa: E402
from rag.answerers.llm import LLMConfigError, build_messages, is_refusal  # noqa: E402
from rag.app.cli import main  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.errors import InputError  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402

TESTS_DIR = Path(__file__).resolve().parent
TIMEOUT = 1.0
SLOW = 30.0  # a stalled server: far beyond the timeout, so "falls back before SLOW" holds on a busy CI box

# Figures for all localities, reported at a meeting whose title names Trà Vinh.
TRA_VINH = "\n".join([
    "Hội nghị tổng kết Đề án 06 tại điểm cầu Trà Vinh",
    "Cập nhật: 22/12/2023 03:17",
    "Tại điểm cầu UBND tỉnh Trà Vinh, đồng chí Lê Văn Hẳn, Chủ tịch UBND tỉnh chủ trì hội nghị tổng kết Đề án 06.",
    "Năm 2023, các địa phương có 58,2% người dân tham gia dịch vụ công trực tuyến; tại các bộ, ngành thực hiện "
    "dịch vụ công trực tuyến đạt 31,7%.",
]) + "\n"

LAO_CAI_Q = "Lào Cai tích hợp bao nhiêu dịch vụ công?"
REPLIES: dict[str, object] = {
    "lào cai tích hợp": "Lào Cai đã tích hợp 1.305 dịch vụ công trực tuyến [@1.305].",
    "đà nẵng": "Kinh tế số Đà Nẵng đóng góp khoảng 61,5% GRDP [@16,5%].",  # a hallucinated number
    "cổng dịch vụ công quốc gia": "Cổng đã cung cấp 3.552 dịch vụ công trực tuyến [7].",  # no passage 7
    "hồ sơ": "Tỷ lệ hồ sơ trực tuyến toàn trình của Lào Cai đạt 58,2% [@!58,2%].",  # mis-numbered
    "trà vinh": "Năm 2023, tỷ lệ người dân Trà Vinh tham gia dịch vụ công trực tuyến là 58,2% [@các địa phương].",
    "hà giang": NOT_FOUND,
    "chậm": Sleep(SLOW),
    "ngắt": Stall(SLOW),
    "hỏng": Status(500, "model crashed"),
}


@pytest.fixture
def fake():
    with FakeLLM(REPLIES) as server:
        yield server


@pytest.fixture
def corpus(make_corpus):
    return make_corpus({**CORPUS, "tra_vinh.txt": TRA_VINH})


@pytest.fixture
def pipe(corpus, tmp_path, fake):
    settings = Settings(corpus=corpus, index_dir=tmp_path / "index", show_progress=False, answerer="llm",
                        llm_base_url=fake.url, llm_model="fake-model", llm_api_key="sk-test",
                        llm_timeout=TIMEOUT)
    return Pipeline(settings, embedder=FakeEmbedder())


# ------------------------------------------------------------------ answers and fallbacks


def test_grounded_answer_is_kept_with_citation_and_quote(pipe):
    ans = pipe.ask(LAO_CAI_Q)
    assert ans.answerer == "llm" and ans.fallback_reason is None and ans.found
    assert ans.answer.startswith("Lào Cai đã tích hợp 1.305") and "[1]" in ans.answer
    [c] = ans.citations
    assert c.n == 1 and c.doc == "lao_cai.txt" and "1.305" in c.quote and c.quote in c.text
    assert all(r.n != 1 for r in ans.related)


def test_request_is_numbered_passages_with_the_vietnamese_instructions(pipe, fake):
    pipe.ask(LAO_CAI_Q)
    body = fake.requests[-1]
    assert body["model"] == "fake-model" and body["temperature"] == 0 and body["max_tokens"] > 0
    system, user = body["messages"][0]["content"], body["messages"][1]["content"]
    assert NOT_FOUND in system and "[1]" in system and "ngôn ngữ của câu hỏi" in system
    assert user.startswith("Các đoạn tài liệu:\n\n[1] ") and "\n\n[2] " in user
    assert f"Câu hỏi: {LAO_CAI_Q}" in user
    assert fake.headers[-1]["authorization"] == "Bearer sk-test"


def test_hallucinated_number_falls_back_with_reason(pipe):
    ans = pipe.ask("Kinh tế số Đà Nẵng đóng góp bao nhiêu phần trăm?")
    assert ans.answerer == "extractive-fallback"
    assert "61,5%" in ans.fallback_reason
    assert "16,5%" in ans.answer and ans.citations[0].doc == "da_nang.txt"  # the extractive answer


def test_citation_of_a_missing_passage_falls_back(pipe):
    ans = pipe.ask("Cổng Dịch vụ công quốc gia cung cấp bao nhiêu dịch vụ công trực tuyến?")
    assert ans.answerer == "extractive-fallback" and "[7] không tồn tại" in ans.fallback_reason
    assert "3.552" in ans.answer


def test_misnumbered_citation_falls_back(pipe):
    ans = pipe.ask("Tỷ lệ hồ sơ giải quyết trực tuyến toàn trình của Lào Cai là bao nhiêu?")
    assert ans.answerer == "extractive-fallback"
    assert "58,2%" in ans.fallback_reason and "không có trong đoạn được trích" in ans.fallback_reason


def test_figure_of_all_localities_is_not_tra_vinhs(pipe):
    ans = pipe.ask("Năm 2023, tỷ lệ người dân tỉnh Trà Vinh tham gia dịch vụ công trực tuyến là bao nhiêu?")
    assert ans.answerer == "extractive-fallback"
    assert "các địa phương" in ans.fallback_reason and "Trà Vinh" in ans.fallback_reason


def test_model_refusal_is_an_llm_not_found(pipe):
    ans = pipe.ask("Hà Giang tích hợp bao nhiêu dịch vụ công?")
    assert ans.answerer == "llm" and not ans.found and ans.answer == NOT_FOUND
    assert ans.related and not ans.citations


def test_timeout_falls_back_quickly_with_a_clear_reason(pipe):
    pipe.ensure_index()
    t0 = time.perf_counter()
    ans = pipe.ask("Lào Cai chậm bao nhiêu dịch vụ công?")
    assert time.perf_counter() - t0 < SLOW / 2
    assert ans.answerer == "extractive-fallback"
    assert ans.fallback_reason.startswith("máy chủ LLM không trả lời trong 1 s")


def test_server_error_falls_back(pipe):
    ans = pipe.ask("Lào Cai hỏng bao nhiêu dịch vụ công?")
    assert ans.answerer == "extractive-fallback" and "HTTP 500" in ans.fallback_reason
    assert "model crashed" in ans.fallback_reason


def test_unreachable_server_falls_back(corpus, tmp_path):
    settings = Settings(corpus=corpus, index_dir=tmp_path / "index", show_progress=False, answerer="llm",
                        llm_base_url="http://127.0.0.1:9/v1", llm_timeout=TIMEOUT)
    ans = Pipeline(settings, embedder=FakeEmbedder()).ask(LAO_CAI_Q)
    assert ans.answerer == "extractive-fallback" and "không kết nối được" in ans.fallback_reason
    assert "1.305" in ans.answer


def test_extractive_answerer_is_still_there_per_call(pipe, fake):
    ans = pipe.ask(LAO_CAI_Q, answerer="extractive")
    assert ans.answerer == "extractive" and "1.305" in ans.answer
    assert fake.requests == []


def test_refusal_phrases():
    assert is_refusal(NOT_FOUND) and is_refusal("Tài liệu không đề cập đến điều này.")
    assert is_refusal("The passages do not contain this information.")
    assert not is_refusal("Lào Cai đã tích hợp 1.305 dịch vụ công [1].")


def test_messages_number_passages_from_one(pipe):
    r = pipe.search(LAO_CAI_Q, k=2)
    (_, system), (_, user) = build_messages(r.info, r.hits)
    assert "[1] " in user and "[2] " in user and "[3] " not in user


# ------------------------------------------------------------------ streaming


def test_stream_yields_tokens_then_the_checked_answer(pipe):
    r = pipe.search(LAO_CAI_Q)
    stream = pipe.answerer_for().stream(r.info, r.hits)
    pieces = list(stream)
    assert len(pieces) > 3 and "".join(pieces).startswith("Lào Cai đã tích hợp 1.305")
    assert stream.answer.answerer == "llm" and stream.answer.citations[0].doc == "lao_cai.txt"


def test_stream_that_stalls_ends_and_falls_back(pipe):
    r = pipe.search("Lào Cai ngắt bao nhiêu dịch vụ công?")
    stream = pipe.answerer_for().stream(r.info, r.hits)
    t0 = time.perf_counter()
    pieces = list(stream)
    assert time.perf_counter() - t0 < SLOW / 2
    assert "".join(pieces).startswith("Lào Cai")
    assert stream.answer.answerer == "extractive-fallback" and "không trả lời" in stream.answer.fallback_reason


def test_stream_of_a_hallucination_falls_back(pipe):
    r = pipe.search("Kinh tế số Đà Nẵng đóng góp bao nhiêu phần trăm?")
    stream = pipe.answerer_for().stream(r.info, r.hits)
    assert "61,5%" in "".join(stream)
    assert stream.answer.answerer == "extractive-fallback"


# ------------------------------------------------------------------ settings and setup


def test_env_selects_and_configures_the_llm(monkeypatch, fake):
    from rag.config import load_settings

    monkeypatch.setenv("RAG_ANSWERER", "llm")
    monkeypatch.setenv("RAG_LLM_BASE_URL", fake.url)
    monkeypatch.setenv("RAG_LLM_MODEL", "m")
    monkeypatch.setenv("RAG_LLM_API_KEY", "sk-key-9f3a")
    monkeypatch.setenv("RAG_LLM_TIMEOUT", "2.5")
    s = load_settings()
    assert (s.answerer, s.llm_base_url, s.llm_model, s.llm_api_key, s.llm_timeout) == ("llm", fake.url, "m",
                                                                                        "sk-key-9f3a", 2.5)
    assert "sk-key-9f3a" not in repr(s)  # (a field named secret_file is fine: the value is what leaks)


def test_missing_langchain_openai_says_how_to_install(pipe, monkeypatch):
    monkeypatch.setitem(sys.modules, "langchain_openai", None)
    with pytest.raises(LLMConfigError, match=r"pip install -e '\.\[llm\]'"):
        pipe.answerer_for("llm")


def test_bad_timeout_is_a_settings_error(corpus, tmp_path):
    with pytest.raises(InputError, match="RAG_LLM_TIMEOUT=0"):
        Settings(corpus=corpus, index_dir=tmp_path / "index", show_progress=False, llm_timeout=0)


# ------------------------------------------------------------------ CLI


@pytest.fixture
def cli_env(monkeypatch, corpus, tmp_path, fake):
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("RAG_CORPUS", str(corpus))
    monkeypatch.setenv("RAG_SHOW_PROGRESS", "0")
    monkeypatch.setenv("RAG_LLM_BASE_URL", fake.url)
    monkeypatch.setenv("RAG_LLM_TIMEOUT", str(TIMEOUT))
    monkeypatch.setattr("rag.pipeline.load_embedder", lambda settings: FakeEmbedder())
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_cli_ask_llm_json_adds_keys_only(cli_env):
    base = json.loads(run("ask", "--json", LAO_CAI_Q).stdout)
    res = run("ask", "--json", "--answerer", "llm", LAO_CAI_Q)
    assert res.exit_code == 0, res.stderr
    obj = json.loads(res.stdout)
    assert base["answerer"] == "extractive" and "fallback_reason" not in base
    assert obj["answerer"] == "llm" and "fallback_reason" not in obj
    assert set(obj) == set(base) - {"value"}  # `value`: only when the extractive quote gives one
    assert obj["answer"].startswith("Lào Cai đã tích hợp 1.305") and obj["citations"][0]["n"] == 1


def test_cli_ask_llm_fallback_json_and_text(cli_env):
    obj = json.loads(run("ask", "--json", "--answerer", "llm", "Lào Cai chậm bao nhiêu dịch vụ công?").stdout)
    assert obj["answerer"] == "extractive-fallback" and "không trả lời" in obj["fallback_reason"]
    res = run("ask", "--answerer", "llm", "Kinh tế số Đà Nẵng đóng góp bao nhiêu phần trăm?")
    assert res.exit_code == 0 and "16,5%" in res.stdout
    assert "LLM answer not used" in res.stderr and "61,5%" in res.stderr
    assert "Traceback" not in res.stderr + res.stdout


def test_cli_rejects_unknown_answerer(cli_env, monkeypatch):
    assert run("ask", "--answerer", "gpt", LAO_CAI_Q).exit_code == 2  # click's usage error
    monkeypatch.setenv("RAG_ANSWERER", "gpt")
    res = run("ask", LAO_CAI_Q)
    assert res.exit_code == 1 and "RAG_ANSWERER='gpt'" in res.stderr


def test_cli_eval_llm_counts_fallbacks_in_its_own_history(cli_env, tmp_path):
    items = [
        {"id": "a", "question": LAO_CAI_Q, "doc": "lao_cai.txt", "evidence": "tích hợp 1.305 dịch vụ công",
         "facts": [["1.305"]], "kind": "number"},
        {"id": "b", "question": "Kinh tế số Đà Nẵng đóng góp bao nhiêu phần trăm?", "doc": "da_nang.txt",
         "evidence": "đóng góp khoảng 16,5%", "facts": [["16,5%"]], "kind": "percent"},
        {"id": "c", "question": "Hà Giang tích hợp bao nhiêu dịch vụ công?", "doc": None, "evidence": None,
         "facts": [], "kind": "unanswerable"},
    ]
    qa = tmp_path / "qa.jsonl"
    qa.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n", encoding="utf-8")
    monkeypatch_dir = tmp_path / "hist"
    res = run("eval", "--set", str(qa), "--json", "--answerer", "llm", "--thresholds", str(tmp_path / "none.json"),
              "--out", str(monkeypatch_dir))
    assert res.exit_code == 0, res.stderr
    m = json.loads(res.stdout)["metrics"]
    assert (m["llm_answers"], m["llm_fallbacks"]) == (2, 1)
    assert m["answer_accuracy"] == 1.0 and m["refusal_recall"] == 1.0
    record = json.loads((monkeypatch_dir / "history.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert record["settings"]["answerer"] == "llm" and "llm_api_key" not in record["settings"]


_COLD = """
import sys
sys.path[:0] = [{tests!r}, {repo!r}]
import rag.pipeline
from conftest import FakeEmbedder
rag.pipeline.load_embedder = lambda settings: FakeEmbedder()
from rag.app.cli import main
main(["-q", "ask", "--json", "Lào Cai tích hợp bao nhiêu dịch vụ công?"], standalone_mode=False)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {{"langchain_openai", "openai"}})
print("HEAVY", heavy)
"""


def test_extractive_ask_never_imports_langchain_openai(cli_env):
    code = _COLD.format(tests=str(TESTS_DIR), repo=str(TESTS_DIR.parent))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         env={**os.environ})
    assert out.returncode == 0, out.stderr
    assert '"answerer": "extractive"' in out.stdout
    assert "HEAVY []" in out.stdout


@pytest.mark.parametrize("reply, cleaned", [
    ("Trả lời: Lào Cai [1].", "Lào Cai [1]."),
    ("[1] rồi Lào Cai tích hợp 1.305 dịch vụ.", "[1] Lào Cai tích hợp 1.305 dịch vụ."),
    ("  [2][3] rồi  X.  ", "[2][3] X."),
    ("[2] rồi câu trả lời đầy đủ: Đến nay, X.", "[2] Đến nay, X."),
])
def test_clean_reply(reply, cleaned):
    from rag.answerers.llm import clean_reply

    assert clean_reply(reply) == cleaned
