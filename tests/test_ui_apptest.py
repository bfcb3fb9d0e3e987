"""The Streamlit app's logic with `AppTest`: history, citations, not-found, follow-ups, filters,
feedback, and an index updated by someone else. The fake embedder stands in for the model
(patched where the pipeline loads it), so these run in seconds."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytest.importorskip("streamlit")
import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402
from ui_apptest import APP, ask, open_page  # noqa: E402

from rag.answerers.base import NOT_FOUND  # noqa: E402
from rag.app.feedback import DOWN, FeedbackStore  # noqa: E402
from rag.app.uploads import add_upload  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402

LAO_CAI_Q = "Lào Cai tích hợp bao nhiêu dịch vụ công?"


@pytest.fixture
def app_env(rag_env, tmp_path, monkeypatch, fake_embedder):
    loads: list[object] = []

    def load(settings):
        loads.append(settings)
        return fake_embedder

    monkeypatch.setattr("rag.pipeline.load_embedder", load)
    st.cache_resource.clear()
    yield SimpleNamespace(dir=tmp_path, loads=loads)
    st.cache_resource.clear()


def page_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [w.value for w in at.warning] + [e.label for e in at.expander]
    return "\n".join(parts)


def test_first_load_shows_progress_then_documents(app_env):
    at = open_page()
    assert at.title[0].value == "Hỏi đáp chính sách chuyển đổi số"
    assert [s.label for s in at.status] == ["Đã sẵn sàng"]  # the loading steps, finished
    assert "Hãy đặt câu hỏi" in at.info[0].value
    sidebar = "\n".join(m.value for m in at.sidebar.markdown)
    assert "Lào Cai đẩy mạnh cung cấp dịch vụ công trực tuyến" in sidebar
    from rag.store.index import read_meta

    n = read_meta(app_env.dir / "index").documents["lao_cai.txt"].chunks
    assert f"2023-05-10 · {n} đoạn · lao_cai.txt" in sidebar
    assert "3 tài liệu" in at.sidebar.caption[0].value
    # reruns and new sessions (tabs) reuse the loaded engine: no second load, no loading box
    at.run()
    assert len(at.status) == 0
    second_tab = open_page()
    assert len(second_tab.status) == 0
    assert len(app_env.loads) == 1


def test_answer_with_citation_card_and_history(app_env):
    at = ask(open_page(), LAO_CAI_Q)
    answer = at.chat_message[1].markdown[0].value
    assert "1.305" in answer and "[1]" in answer
    label = at.expander[0].label
    assert label.startswith("[1] Lào Cai đẩy mạnh") and "2023-05-10" in label
    card = at.expander[0].markdown[0].value
    assert "<mark" in card and "1.305" in card.split("<mark")[1] and "lao_cai.txt" in card
    assert len(at.warning) == 0  # a found answer is not styled as a warning
    ask(at, "Kinh tế số Đà Nẵng đóng góp bao nhiêu phần trăm?")
    assert [m.name for m in at.chat_message] == ["user", "assistant", "user", "assistant"]
    assert len(at.session_state.turns) == 2
    assert "16,5%" in at.chat_message[3].markdown[0].value
    assert "1.305" in at.chat_message[1].markdown[0].value  # the history is still shown
    assert not at.info  # no welcome text once there is a conversation


def test_not_found_looks_different_and_shows_related(app_env):
    at = ask(open_page(), "Yên Bái tích hợp bao nhiêu dịch vụ công?")
    assert len(at.warning) == 1 and NOT_FOUND in at.warning[0].value
    assert "Đoạn liên quan nhất" in page_text(at)
    assert 1 <= len(at.expander) <= 3
    assert "<mark" not in at.expander[0].markdown[0].value  # nothing is quoted as an answer


def test_follow_up_is_resolved_and_shown(app_env):
    at = ask(open_page(), LAO_CAI_Q)
    ask(at, "Còn Đà Nẵng thì sao?")
    turn = at.session_state.turns[1]
    assert turn["question"] == "Còn Đà Nẵng thì sao?"
    assert turn["standalone"] == "Đà Nẵng tích hợp bao nhiêu dịch vụ công?"
    assert turn["answer"].question == turn["standalone"]  # retrieval used the standalone question
    assert "Câu hỏi được hiểu là: **Đà Nẵng tích hợp bao nhiêu dịch vụ công?**" in page_text(at)
    assert NOT_FOUND in at.warning[0].value  # the tiny corpus has no such figure for Đà Nẵng


def test_feedback_is_saved_with_question_answer_and_citations(app_env):
    at = ask(open_page(), LAO_CAI_Q)
    at.feedback[0].set_value(0).run()  # 👎
    assert not at.exception
    store = FeedbackStore(app_env.dir / "feedback.sqlite3")
    [item] = store.items()
    assert item.rating == DOWN and item.question == LAO_CAI_Q
    assert "1.305" in item.answer and item.citations[0]["doc"] == "lao_cai.txt"
    assert item.created.startswith("20")
    at.text_input(key=f"cm-{item.answer_id}").input("Cần số liệu mới hơn")
    next(b for b in at.button if b.label == "Gửi góp ý").click().run()
    assert store.get(item.answer_id).comment == "Cần số liệu mới hơn"
    assert "Đã lưu góp ý" in page_text(at)
    at.feedback[0].set_value(1).run()  # 👍 replaces 👎
    assert [i.rating for i in store.items()] == [1]
    assert "👍 1 · 👎 0" in at.sidebar.caption[-1].value


def test_document_filter_restricts_the_search(app_env):
    at = open_page()
    at.sidebar.multiselect(key="flt_docs").set_value(["da_nang.txt"]).run()
    ask(at, LAO_CAI_Q)
    assert NOT_FOUND in at.warning[0].value
    assert "Phạm vi: 1 tài liệu đã chọn" in page_text(at)
    at.sidebar.multiselect(key="flt_docs").set_value([]).run()
    ask(at, LAO_CAI_Q)
    assert "1.305" in at.chat_message[3].markdown[0].value


def test_date_filter(app_env):
    import datetime as dt

    at = open_page()
    at.sidebar.toggle(key="flt_use_dates").set_value(True).run()
    at.sidebar.date_input(key="flt_from").set_value(dt.date(2023, 4, 1)).run()
    at.sidebar.date_input(key="flt_to").set_value(dt.date(2023, 12, 31)).run()
    ask(at, "Kinh tế số Đà Nẵng đóng góp bao nhiêu phần trăm?")  # Đà Nẵng's page is dated 2022
    assert NOT_FOUND in at.warning[0].value
    ask(at, LAO_CAI_Q)  # dated 2023-05-10: inside the range
    assert "1.305" in at.chat_message[3].markdown[0].value


def test_k_slider_sets_the_number_of_sources(app_env):
    at = open_page()
    at.sidebar.slider(key="k").set_value(1).run()
    ask(at, "Yên Bái tích hợp bao nhiêu dịch vụ công?")
    assert at.session_state.turns[0]["k"] == 1
    assert len(at.session_state.turns[0]["answer"].related) == 1


def test_index_updated_elsewhere_is_seen_without_restart(app_env, fake_embedder):
    at = open_page()
    other = Pipeline(load_settings(show_progress=False), embedder=fake_embedder)  # another tab/process
    text = ("Điện Biên đẩy mạnh sử dụng chữ ký số\nCập nhật: 12/09/2024 08:00\nTính đến hết tháng 8 năm 2024, "
            "tỉnh Điện Biên đã cấp 4.321 chứng thư chữ ký số cho cán bộ, công chức, viên chức các cấp, "
            "giúp xử lý văn bản điện tử nhanh và an toàn hơn.\n")
    add_upload(other, "dien_bien.txt", text.encode())
    ask(at, "Điện Biên đã cấp bao nhiêu chứng thư chữ ký số?")
    assert "4.321" in at.chat_message[1].markdown[0].value
    assert "4 tài liệu" in at.sidebar.caption[0].value


def test_empty_question_is_ignored_and_errors_are_messages(app_env, monkeypatch):
    at = ask(open_page(), "   ")
    assert len(at.session_state.turns) == 0 and not at.error
    from rag.errors import IndexStateError

    def broken(self, *a, **k):
        raise IndexStateError("Chỉ mục hỏng / corrupt index: rag index --rebuild")

    monkeypatch.setattr(Pipeline, "run", broken)
    ask(at, LAO_CAI_Q)
    assert "Chỉ mục hỏng" in at.error[0].value and len(at.session_state.turns) == 0


DA_NANG_Q = "Kinh tế số của Đà Nẵng đóng góp bao nhiêu phần trăm?"


def _sources(at: AppTest, turn: int) -> str:
    """Everything the assistant's reply of `turn` shows: answer, source cards and related passages."""
    msg = at.chat_message[2 * turn + 1]
    return "\n".join([m.value for m in msg.markdown] + [e.label for e in msg.expander]
                     + [c.value for c in msg.caption])


def test_delete_button_asks_first_then_removes_the_document_everywhere(app_env):
    """Issue #11.3: no way to remove a document from the UI. The delete button asks to confirm; once
    removed, the document is gone from the list, the filter, answers, source cards and related
    passages — and a past answer quoting it no longer shows it."""
    at = ask(open_page(), DA_NANG_Q)
    assert "da_nang.txt" in _sources(at, 0) and "16,5%" in _sources(at, 0)
    at.sidebar.button(key="del-da_nang.txt").click().run()
    assert "Gỡ “Đà Nẵng phát triển kinh tế số”" in at.sidebar.warning[0].value
    at.sidebar.button(key="confirm-delete-no").click().run()  # cancel: nothing happens
    assert not at.sidebar.warning and "3 tài liệu" in at.sidebar.caption[0].value

    at.sidebar.button(key="del-da_nang.txt").click().run()
    at.sidebar.button(key="confirm-delete-yes").click().run()
    assert not at.exception, at.exception
    assert "Đã gỡ “Đà Nẵng phát triển kinh tế số”" in at.sidebar.success[0].value
    sidebar = "\n".join(m.value for m in at.sidebar.markdown)
    assert "da_nang.txt" not in sidebar and "2 tài liệu" in at.sidebar.caption[0].value
    assert "da_nang.txt" not in at.sidebar.multiselect[0].options
    past = _sources(at, 0)
    assert "da_nang.txt" not in past and "16,5%" not in past and "đã được gỡ" in past
    ask(at, DA_NANG_Q)
    now = _sources(at, 1)
    assert "da_nang.txt" not in now and "16,5%" not in now and "Đà Nẵng phát triển" not in now
    from rag.store.index import read_meta

    assert "da_nang.txt" not in read_meta(app_env.dir / "index").documents


def test_deleting_an_upload_removes_its_copy(app_env, fake_embedder):
    at = open_page()
    other = Pipeline(load_settings(show_progress=False), embedder=fake_embedder)
    res = add_upload(other, "dien_bien.txt", ("Điện Biên đẩy mạnh sử dụng chữ ký số\nTính đến hết tháng 8, "
                                              "tỉnh Điện Biên đã cấp 4.321 chứng thư chữ ký số cho cán bộ, "
                                              "công chức, viên chức các cấp.\n").encode())
    at.run()
    at.sidebar.button(key=f"del-{res.doc_id}").click().run()
    at.sidebar.button(key="confirm-delete-yes").click().run()
    assert not res.path.exists() and "3 tài liệu" in at.sidebar.caption[0].value


def test_rag_ui_runs_streamlit_on_localhost(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from rag.app.cli import main

    calls = []
    monkeypatch.setattr("os.execve", lambda exe, argv, env: calls.append((exe, argv, env)))
    r = CliRunner().invoke(main, ["--index-dir", str(tmp_path / "idx"), "ui", "--port", "8600"])
    assert r.exit_code == 0, r.output
    [(exe, argv, env)] = calls
    assert argv[1:4] == ["-m", "streamlit", "run"] and argv[4] == APP
    assert argv[argv.index("--server.address") + 1] == "localhost"
    assert argv[argv.index("--server.port") + 1] == "8600"
    assert argv[argv.index("--server.headless") + 1] == "true"
    assert env["RAG_INDEX_DIR"] == str((tmp_path / "idx").resolve())


DIEN_BIEN = ("Điện Biên đẩy mạnh sử dụng chữ ký số\nCập nhật: 12/09/2024 08:00\nTính đến hết tháng 8 năm 2024, "
             "tỉnh Điện Biên đã cấp 4.321 chứng thư chữ ký số cho cán bộ, công chức, viên chức các cấp, "
             "giúp xử lý văn bản điện tử nhanh và an toàn hơn.\n")


@pytest.fixture
def upload_calls(monkeypatch):
    """Counts the uploads the app indexes (the real add_upload does the work)."""
    import rag.app.uploads as uploads

    calls: list[str] = []
    real = uploads.add_upload

    def counted(pipeline, name, data):
        calls.append(name)
        return real(pipeline, name, data)

    monkeypatch.setattr(uploads, "add_upload", counted)
    return calls


def test_question_sent_while_an_upload_is_indexed_is_answered_after_it(app_env, upload_calls):
    """#11 case 5: the question arrives in the same script run as the upload still in the uploader
    (Streamlit restarts the run with both); it must not vanish in the rerun that follows the upload."""
    at = open_page()
    at.sidebar.file_uploader[0].set_value(("dien_bien.txt", DIEN_BIEN.encode(), "text/plain"))
    at.chat_input[0].set_value("Điện Biên đã cấp bao nhiêu chứng thư chữ ký số?")
    at.run()
    assert not at.exception, at.exception
    assert upload_calls == ["dien_bien.txt"]
    assert len(at.session_state.turns) == 1
    assert "4.321" in at.session_state.turns[0]["answer"].answer  # answered from the new document
    assert any("Đã thêm" in s.value for s in at.sidebar.success)
    at.run()  # later reruns neither index it again nor repeat the question
    assert upload_calls == ["dien_bien.txt"] and len(at.session_state.turns) == 1


def test_upload_interrupted_by_a_rerun_is_not_indexed_twice(app_env, upload_calls, monkeypatch):
    """A rerun (a question, a click) stops the script at its next Streamlit call after the upload
    was indexed; the uploader still holds the file in the new run."""
    import rag.app.uploads as uploads

    counted = uploads.add_upload

    def interrupted(pipeline, name, data):
        res = counted(pipeline, name, data)
        if len(upload_calls) == 1:
            st.rerun()
        return res

    monkeypatch.setattr(uploads, "add_upload", interrupted)
    at = open_page()
    at.sidebar.file_uploader[0].set_value(("dien_bien.txt", DIEN_BIEN.encode(), "text/plain"))
    at.run()
    assert not at.exception, at.exception
    assert upload_calls == ["dien_bien.txt"]
    assert "4 tài liệu" in at.sidebar.caption[0].value


def test_uploader_limit_and_public_host_needs_an_admin(monkeypatch, tmp_path):
    """The uploader states the real per-file limit (Streamlit's default text says 200MB), and
    `rag ui --host 0.0.0.0` is refused until an admin account exists (issue #14): then every
    visitor signs in."""
    from click.testing import CliRunner

    from rag.accounts.users import AccountStore
    from rag.app.cli import main

    calls = []
    monkeypatch.setattr("os.execve", lambda exe, argv, env: calls.append(argv))
    monkeypatch.setenv("RAG_MAX_FILE_MB", "12")
    r = CliRunner().invoke(main, ["--index-dir", str(tmp_path / "idx"), "ui"])
    assert r.exit_code == 0 and "admin" not in r.stderr
    assert calls[-1][calls[-1].index("--server.maxUploadSize") + 1] == "12"
    r = CliRunner().invoke(main, ["--index-dir", str(tmp_path / "idx"), "ui", "--host", "0.0.0.0"])
    assert r.exit_code == 1 and "no admin account" in r.stderr and "rag user add" in r.stderr
    assert len(calls) == 1  # not started
    store = AccountStore(tmp_path / "idx" / "feedback.sqlite3")
    store.add_user("minh", "reader", "mat-khau-doc")
    r = CliRunner().invoke(main, ["--index-dir", str(tmp_path / "idx"), "ui", "--host", "0.0.0.0"])
    assert r.exit_code == 1 and len(calls) == 1  # a reader is not enough: someone must manage accounts
    store.add_user("quantri", "admin", "mat-khau-quan-tri")
    r = CliRunner().invoke(main, ["--index-dir", str(tmp_path / "idx"), "ui", "--host", "0.0.0.0"])
    assert r.exit_code == 0 and len(calls) == 2 and calls[-1][calls[-1].index("--server.address") + 1] == "0.0.0.0"


def test_question_of_only_emoji_gets_a_message_and_nfd_is_understood(app_env):
    at = ask(open_page(), "😀 ??? 👍")
    assert "không có chữ hay số" in at.error[0].value and len(at.session_state.turns) == 0
    import unicodedata

    ask(at, unicodedata.normalize("NFD", LAO_CAI_Q))
    assert at.session_state.turns[0]["question"] == LAO_CAI_Q
    assert "1.305" in at.session_state.turns[0]["answer"].answer
