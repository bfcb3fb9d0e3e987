"""`rag serve` as an operator runs it: the real command in a subprocess, the packaged model on the
seeds, asked with the official `openai` client and curl-like HTTP; the server is stopped after."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest
from conftest import free_port

from rag.config import REPO_ROOT

pytestmark = pytest.mark.slow

QUESTION = "Lào Cai tích hợp bao nhiêu dịch vụ công?"


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_HOME=str(tmp / "home"), PYTHONPATH=str(REPO_ROOT))
    log = (tmp / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "rag", "serve", "--port", str(port)], env=env,
                            cwd=tmp, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"rag serve did not become healthy:\n{Path(log.name).read_text()[-2000:]}")
            time.sleep(0.5)
        yield url, tmp
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_openai_client_gets_the_cited_lao_cai_answer(serve):
    url, _ = serve
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0, timeout=120)
    done = client.chat.completions.create(model="hoi-dap-cds", messages=[{"role": "user", "content": QUESTION}])
    content = done.choices[0].message.content
    assert "1.305" in content and "\n\nNguồn:\n[1] " in content
    assert done.model_extra["citations"][0]["doc"] == "000_f6b367151ac29e37.txt"


def test_api_ask_and_health_with_the_index_under_rag_home(serve):
    url, tmp = serve
    body = httpx.post(f"{url}/api/ask", json={"question": QUESTION}, timeout=120).json()
    assert body["found"] and "1.305" in body["answer"]
    health = httpx.get(f"{url}/healthz", timeout=10).json()
    assert health["documents"] == 5 and (tmp / "home" / "index" / "CURRENT").is_file()
    assert 'rag_answers_total{answerer="extractive",outcome="found"}' in httpx.get(f"{url}/metrics").text
