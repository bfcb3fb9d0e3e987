"""The chat page with accounts (issue #14), with `AppTest` and the fake embedder: the sign-in form
is all an unauthenticated visitor gets; a reader sees no upload or delete control and never a
document of a collection outside theirs; an editor deletes only in their collection; a removed
user is signed out on their next action."""

from __future__ import annotations

import pytest

pytest.importorskip("streamlit")
import streamlit as st  # noqa: E402
from conftest import write_files  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402
from test_collections import NOI_BO, QUESTION  # noqa: E402
from ui_apptest import ask, open_page  # noqa: E402

from rag.accounts.users import AccountStore  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402

PW = "mat-khau-rat-dai-1"


@pytest.fixture
def office(rag_env, tmp_path):
    """The standard corpus in chung, a personnel decision in noi-bo, and four accounts."""
    st.cache_resource.clear()
    pipe = Pipeline(load_settings(), embedder=rag_env.embedder)
    pipe.index()
    pipe.index([write_files(tmp_path / "noi_bo", {"bo_nhiem_giam_doc.txt": NOI_BO})], collection="noi-bo")
    store = AccountStore(tmp_path / "feedback.sqlite3")
    store.add_user("quantri", "admin", PW)
    store.add_user("lan", "editor", PW, collections=["noi-bo"])
    store.add_user("minh", "reader", PW)
    yield store
    st.cache_resource.clear()


def sign_in(at: AppTest, name: str, password: str = PW) -> AppTest:
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(password)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def sidebar_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.sidebar.markdown)


def test_unauthenticated_visitors_get_only_the_sign_in_form(office):
    at = open_page()
    assert at.subheader[0].value == "🔐 Đăng nhập"
    assert len(at.chat_input) == 0 and len(at.sidebar.markdown) == 0 and len(at.status) == 0
    at = sign_in(at, "minh", "sai-mat-khau")
    assert "wrong user name or password" in at.error[0].value and len(at.chat_input) == 0
    assert at.session_state.login_password == ""  # not kept in the tab's state
    at = sign_in(at, "minh")
    assert len(at.chat_input) == 1 and at.session_state.login_password == ""
    assert [e.action for e in office.audit.entries(user="minh")] == ["login_failed", "login"]
    assert all(e.detail.startswith("ui ip=") for e in office.audit.entries(user="minh"))  # where from


def test_a_reader_sees_only_chung_and_no_controls(office):
    at = sign_in(open_page(), "minh")
    assert len(at.chat_input) == 1
    text = sidebar_text(at)
    assert "minh" in text and "lao_cai.txt" in text and "bo_nhiem_giam_doc" not in text
    assert not [b for b in at.sidebar.button if b.key and b.key.startswith("del-")]
    assert len(at.sidebar.get("file_uploader")) == 0
    at = ask(at, QUESTION)
    answer = at.session_state.turns[-1]["answer"]
    assert all(c.doc != "bo_nhiem_giam_doc.txt" for c in answer.citations + answer.related)
    assert "Vinh" not in answer.answer
    asked = office.audit.entries(user="minh", action="ask")
    assert asked and QUESTION in asked[-1].detail


def test_an_editor_deletes_only_in_their_collection_and_is_cited_noi_bo(office):
    at = sign_in(open_page(), "lan")
    deletes = sorted(b.key for b in at.sidebar.button if b.key and b.key.startswith("del-"))
    assert deletes == ["del-bo_nhiem_giam_doc.txt"]
    assert at.sidebar.selectbox(key="upload_collection").options == ["noi-bo"]
    at = ask(at, QUESTION)
    assert at.session_state.turns[-1]["answer"].citations[0].doc == "bo_nhiem_giam_doc.txt"
    at.sidebar.button(key="del-bo_nhiem_giam_doc.txt").click().run()
    at.sidebar.button(key="confirm-delete-yes").click().run()
    assert not at.exception, at.exception
    assert "bo_nhiem_giam_doc" not in sidebar_text(at)
    assert [e.detail for e in office.audit.entries(user="lan", action="remove")] == [
        "ui bo_nhiem_giam_doc.txt collection=noi-bo"]


def test_signing_out_or_being_removed_ends_the_session_and_the_chat(office):
    at = ask(sign_in(open_page(), "minh"), "Lào Cai tích hợp bao nhiêu dịch vụ công?")
    assert len(at.session_state.turns) == 1
    at.sidebar.button(key="sign-out").click().run()
    assert at.subheader[0].value == "🔐 Đăng nhập" and at.session_state.turns == []
    at = sign_in(at, "minh")
    assert len(at.chat_input) == 1
    office.remove_user("minh")
    at.run()
    assert at.subheader[0].value == "🔐 Đăng nhập" and len(at.chat_input) == 0
    assert "hết hạn" in at.info[0].value
    assert "login" in {e.action for e in office.audit.entries(user="minh")}
