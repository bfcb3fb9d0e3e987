"""`rag serve` with accounts (issue #14), over a real uvicorn server on loopback: per-user tokens,
roles on the document routes, collections in every answer and list, audit, a removed user's token
refused. The fake embedder stands in for the model (see tests/api_server.py)."""

from __future__ import annotations

import httpx
import openai
import pytest
from api_server import LiveServer
from conftest import CORPUS, FakeEmbedder, write_files
from test_collections import NOI_BO, QUESTION

from rag.accounts.users import AccountStore
from rag.app.api import create_app
from rag.config import Settings
from rag.pipeline import Pipeline

PW = "mat-khau-rat-dai-1"
NEW_DOC = ("Kế hoạch số hóa hồ sơ lưu trữ của Sở Nội vụ\nSở Nội vụ số hóa 12.400 hồ sơ lưu trữ trong năm 2026, "
           "ưu tiên hồ sơ cán bộ và hồ sơ địa giới hành chính.\n")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("api_accounts")
    settings = Settings(corpus=write_files(root / "corpus", CORPUS), index_dir=root / "index", show_progress=False)
    pipe = Pipeline(settings, embedder=FakeEmbedder())
    pipe.index()
    pipe.index([write_files(root / "noi_bo", {"bo_nhiem_giam_doc.txt": NOI_BO})], collection="noi-bo")
    store = AccountStore(settings.feedback_path)
    store.add_user("quantri", "admin", PW)
    store.add_user("lan", "editor", PW, collections=["noi-bo"])
    store.add_user("minh", "reader", PW)
    store.add_user("tam", "reader", PW)
    tokens = {name: store.create_token(name) for name in ("quantri", "lan", "minh", "tam")}
    server = LiveServer(create_app(pipeline=pipe)).start()
    try:
        yield server.url, tokens, store
    finally:
        server.stop()


def call(env, method: str, path: str, user: str | None = None, **kw) -> httpx.Response:
    url, tokens, _ = env
    headers = {"Authorization": f"Bearer {tokens[user]}"} if user else {}
    return httpx.request(method, url + path, headers=headers, timeout=60, **kw)


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/api/ask", {"question": QUESTION}),
    ("POST", "/api/ask/stream", {"question": QUESTION}),
    ("GET", "/api/documents", None),
    ("DELETE", "/api/documents/lao_cai.txt", None),
    ("GET", "/v1/models", None),
    ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": QUESTION}]}),
])
def test_without_a_valid_token_every_route_is_401(env, method, path, body):
    for headers in ({}, {"Authorization": "Bearer rag_not-a-token"}, {"Authorization": "Basic eHg6eXk="}):
        r = httpx.request(method, env[0] + path, json=body, headers=headers, timeout=30)
        assert r.status_code == 401, (path, r.text)
        assert "Authorization: Bearer" in r.json()["error"]["message"]
    assert httpx.get(env[0] + "/healthz", timeout=30).status_code == 200  # probes need no token


def test_each_user_gets_answers_only_from_their_collections(env):
    inside = call(env, "POST", "/api/ask", "lan", json={"question": QUESTION}).json()
    assert inside["found"] and inside["citations"][0]["doc"] == "bo_nhiem_giam_doc.txt"
    outside = call(env, "POST", "/api/ask", "minh", json={"question": QUESTION, "k": 10}).json()
    shown = [c["doc"] for c in outside["citations"] + outside["related"]]
    assert "bo_nhiem_giam_doc.txt" not in shown and "Vinh" not in outside["answer"]
    stream = call(env, "POST", "/api/ask/stream", "minh", json={"question": QUESTION}).text
    assert "bo_nhiem_giam_doc" not in stream and "Vinh" not in stream
    docs = {d["id"] for d in call(env, "GET", "/api/documents", "minh").json()["documents"]}
    assert docs == set(CORPUS)
    every = call(env, "GET", "/api/documents", "quantri").json()["documents"]
    assert "bo_nhiem_giam_doc.txt" in {d["id"] for d in every}
    named = {"question": QUESTION, "filters": {"docs": ["bo_nhiem_giam_doc.txt"]}}
    r = call(env, "POST", "/api/ask", "minh", json=named)
    assert r.status_code == 400 and "unknown document" in r.json()["error"]["message"]
    client = openai.OpenAI(base_url=f"{env[0]}/v1", api_key=env[1]["minh"], max_retries=0, timeout=60)
    done = client.chat.completions.create(model="hoi-dap-cds", messages=[{"role": "user", "content": QUESTION}])
    assert "bo_nhiem_giam_doc" not in done.choices[0].message.content
    assert all(c["doc"] != "bo_nhiem_giam_doc.txt" for c in done.model_extra["citations"])


def test_a_reader_cannot_upload_or_delete(env):
    r = call(env, "POST", "/api/documents", "minh", files={"file": ("ke_hoach.txt", NEW_DOC.encode(), "text/plain")})
    assert r.status_code == 403 and "not allowed to change documents" in r.json()["error"]["message"]
    r = call(env, "DELETE", "/api/documents/lao_cai.txt", "minh")
    assert r.status_code == 403
    assert "lao_cai.txt" in {d["id"] for d in call(env, "GET", "/api/documents", "minh").json()["documents"]}


def test_an_editor_changes_only_their_collection(env):
    r = call(env, "POST", "/api/documents", "lan", data={"collection": "chung"},
             files={"file": ("ke_hoach.txt", NEW_DOC.encode(), "text/plain")})
    assert r.status_code == 403 and "not allowed to add" in r.json()["error"]["message"]
    r = call(env, "POST", "/api/documents", "lan", files={"file": ("ke_hoach.txt", NEW_DOC.encode(), "text/plain")})
    assert r.status_code == 201 and r.json()["collection"] == "noi-bo"  # their only collection
    doc_id = r.json()["id"]
    assert doc_id not in {d["id"] for d in call(env, "GET", "/api/documents", "minh").json()["documents"]}
    assert call(env, "DELETE", "/api/documents/lao_cai.txt", "lan").status_code == 403
    assert call(env, "DELETE", f"/api/documents/{doc_id}", "minh").status_code == 403
    r = call(env, "DELETE", f"/api/documents/{doc_id}", "lan")
    assert r.status_code == 200 and r.json()["removed"] == [doc_id]
    entries = env[2].audit.entries(user="lan")
    assert {"upload", "remove", "ask"} <= {e.action for e in entries}
    asked = [e.detail for e in env[2].audit.entries(user="minh", action="ask")]
    assert any(QUESTION in d for d in asked)


def test_a_removed_users_token_stops_working(env):
    assert call(env, "GET", "/api/documents", "tam").status_code == 200
    env[2].remove_user("tam")
    r = call(env, "GET", "/api/documents", "tam")
    assert r.status_code == 401
    assert call(env, "POST", "/api/ask", "tam", json={"question": QUESTION}).status_code == 401
