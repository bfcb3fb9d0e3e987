"""Collections enforced inside retrieval (issue #14): a document of `noi-bo` is never retrieved,
cited, listed, exported or removable for a user outside it — checked with a question only that
document answers — while a user of `noi-bo` gets it cited."""

from __future__ import annotations

import json

import pytest
from conftest import CORPUS, FakeEmbedder, write_files

from rag.app.feedback import DOWN, FeedbackStore, export_negative
from rag.app.uploads import add_upload, remove_documents
from rag.config import Settings
from rag.errors import AccessError, InputError
from rag.pipeline import Pipeline
from rag.store.index import DocumentRecord, read_meta
from rag.types import SearchFilter

NOI_BO = "\n".join([
    "Quyết định bổ nhiệm Giám đốc Trung tâm Chuyển đổi số tỉnh",
    "Cập nhật: 20/11/2026 08:00",
    "Ủy ban nhân dân tỉnh quyết định bổ nhiệm ông Hoàng Quốc Vinh giữ chức Giám đốc Trung tâm Chuyển đổi số "
    "tỉnh kể từ ngày 01/12/2026, thời hạn giữ chức vụ là 5 năm.",
    "Ông Hoàng Quốc Vinh có trách nhiệm bàn giao công việc tại Văn phòng Ủy ban nhân dân tỉnh trước ngày "
    "30/11/2026 và báo cáo kết quả bằng văn bản.",
]) + "\n"
PLAN_A = ("Kế hoạch số hóa hồ sơ lưu trữ của Sở Nội vụ\nSở Nội vụ số hóa 12.400 hồ sơ lưu trữ trong năm 2026, "
          "ưu tiên hồ sơ cán bộ và hồ sơ địa giới hành chính.\n")
PLAN_B = ("Kế hoạch tập huấn kỹ năng số cho cán bộ cấp xã\nTỉnh tổ chức 36 lớp tập huấn kỹ năng số cho cán bộ "
          "cấp xã, mỗi lớp kéo dài ba ngày tại trung tâm hành chính công.\n")
QUESTION = "Ai được bổ nhiệm giữ chức Giám đốc Trung tâm Chuyển đổi số tỉnh?"
PUBLIC = frozenset({"chung"})
INSIDE = frozenset({"chung", "noi-bo"})


@pytest.fixture
def pipe(tmp_path) -> Pipeline:
    corpus = write_files(tmp_path / "corpus", CORPUS)
    internal = write_files(tmp_path / "noi_bo", {"bo_nhiem_giam_doc.txt": NOI_BO})
    p = Pipeline(Settings(corpus=corpus, index_dir=tmp_path / "index", show_progress=False),
                 embedder=FakeEmbedder())
    p.index([corpus])
    p.index([internal], collection="noi-bo")
    return p


def cited_docs(answer) -> set[str]:
    return {c.doc for c in answer.citations} | {c.doc for c in answer.related}


def test_a_user_of_the_collection_gets_the_answer_cited(pipe):
    ans = pipe.ask(QUESTION, readable=INSIDE)
    assert ans.found and "Hoàng Quốc Vinh" in ans.answer
    assert ans.citations[0].doc == "bo_nhiem_giam_doc.txt"
    assert pipe.ask(QUESTION).citations[0].doc == "bo_nhiem_giam_doc.txt"  # an admin / the single user


def test_outside_the_collection_it_is_never_retrieved_cited_or_listed(pipe):
    ans = pipe.ask(QUESTION, k=10, readable=PUBLIC)
    assert "bo_nhiem_giam_doc.txt" not in cited_docs(ans)
    assert "Vinh" not in ans.answer and all("Vinh" not in c.text for c in ans.citations + ans.related)
    hits = pipe.search(QUESTION, k=50, readable=PUBLIC).hits
    assert hits and all(h.chunk.doc_id != "bo_nhiem_giam_doc.txt" for h in hits)
    # a filter naming the document by id does not open it either
    named = pipe.search(QUESTION, k=50, flt=SearchFilter(doc_ids={"bo_nhiem_giam_doc.txt"}), readable=PUBLIC)
    assert named.hits == []
    streamed = pipe.stream(QUESTION, k=10, readable=PUBLIC).result().answer
    assert "bo_nhiem_giam_doc.txt" not in cited_docs(streamed)
    assert set(pipe.documents(PUBLIC)) == set(CORPUS)
    assert "bo_nhiem_giam_doc.txt" in pipe.documents(INSIDE)


def test_collection_kept_across_rebuild_and_old_records_read_as_chung(pipe, tmp_path):
    pipe.index([tmp_path / "corpus", tmp_path / "noi_bo"], rebuild=True)
    assert read_meta(tmp_path / "index").documents["bo_nhiem_giam_doc.txt"].collection == "noi-bo"
    assert "bo_nhiem_giam_doc.txt" not in cited_docs(pipe.ask(QUESTION, k=10, readable=PUBLIC))
    old = DocumentRecord.from_json({"path": "/x/a.txt", "title": "A"})  # written before collections
    assert old.collection == "chung"


def test_remove_needs_read_and_edit_rights(pipe, tmp_path):
    with pytest.raises(InputError, match="no such document") as e:
        remove_documents(pipe, ["bo_nhiem_giam_doc.txt"], readable=PUBLIC, editable=frozenset())
    assert "bo_nhiem_giam_doc" not in str(e.value).split("known:")[-1]  # its name is not listed
    with pytest.raises(AccessError, match="not allowed"):
        remove_documents(pipe, ["bo_nhiem_giam_doc.txt"], readable=INSIDE, editable=frozenset({"chung"}))
    with pytest.raises(AccessError):
        remove_documents(pipe, ["lao_cai.txt"], readable=INSIDE, editable=frozenset({"noi-bo"}))
    assert "bo_nhiem_giam_doc.txt" in pipe.documents()
    remove_documents(pipe, ["bo_nhiem_giam_doc.txt"], readable=INSIDE, editable=frozenset({"noi-bo"}))
    assert "bo_nhiem_giam_doc.txt" not in pipe.documents()


def test_uploads_go_to_their_collection_and_never_overwrite_another(pipe, tmp_path):
    res = add_upload(pipe, "ke_hoach.txt", PLAN_A.encode(), "noi-bo", editable=frozenset({"noi-bo"}))
    assert res.path.parent.name == "noi-bo" and pipe.documents()[res.doc_id].collection == "noi-bo"
    with pytest.raises(AccessError, match="not allowed to add"):
        add_upload(pipe, "khac.txt", NOI_BO.encode(), "chung", editable=frozenset({"noi-bo"}))
    with pytest.raises(AccessError, match="not allowed to add"):
        add_upload(pipe, "khac.txt", NOI_BO.encode(), "noi-bo", editable=frozenset())
    # a chung editor uploading a file of the same name gets their own document, not a replacement
    other = add_upload(pipe, "ke_hoach.txt", PLAN_B.encode(), "chung", editable=frozenset({"chung"}))
    assert other.doc_id != res.doc_id and not other.replaced
    assert pipe.documents()[res.doc_id].collection == "noi-bo"


def test_feedback_export_leaves_out_what_the_user_may_not_read(pipe, tmp_path):
    fb = FeedbackStore(tmp_path / "feedback.sqlite3")
    fb.record("a1", DOWN, pipe.ask(QUESTION, readable=INSIDE))
    fb.record("a2", DOWN, pipe.ask("Lào Cai tích hợp bao nhiêu dịch vụ công?", readable=PUBLIC))
    sources = {r.source for r in pipe.documents(PUBLIC).values()}
    items = export_negative(fb, tmp_path / "out.jsonl", allowed_docs=sources)
    assert [i["id"] for i in items] == ["fb-0002"]
    assert "bo_nhiem" not in (tmp_path / "out.jsonl").read_text() and "Vinh" not in json.dumps(items)
    assert len(export_negative(fb)) == 2


def test_cli_index_into_a_collection_and_export_for_a_user(rag_env, tmp_path):
    from click.testing import CliRunner

    from rag.accounts.users import AccountStore
    from rag.app.cli import main

    runner = CliRunner()
    internal = write_files(tmp_path / "noi_bo", {"bo_nhiem_giam_doc.txt": NOI_BO})
    assert runner.invoke(main, ["index"]).exit_code == 0
    r = runner.invoke(main, ["index", str(internal), "--collection", "Nội Bộ"])
    assert r.exit_code == 1 and "collection name" in r.output
    r = runner.invoke(main, ["index", "--collection", "noi-bo"])
    assert r.exit_code == 1 and "needs the paths" in r.output
    assert runner.invoke(main, ["index", str(internal), "--collection", "noi-bo"]).exit_code == 0
    assert read_meta(rag_env.index).documents["bo_nhiem_giam_doc.txt"].collection == "noi-bo"
    store = AccountStore(tmp_path / "feedback.sqlite3")
    store.add_user("minh", "reader", "mat-khau-cua-minh")
    store.add_user("lan", "reader", "mat-khau-cua-lan", collections=["noi-bo"])
    pipe = Pipeline(Settings(corpus=rag_env.corpus, index_dir=rag_env.index, show_progress=False),
                    embedder=rag_env.embedder)
    FeedbackStore(tmp_path / "feedback.sqlite3").record("a1", DOWN, pipe.ask(QUESTION, readable=INSIDE))
    r = runner.invoke(main, ["feedback", "export", "--user", "minh"])
    assert r.exit_code == 0 and "bo_nhiem" not in r.stdout and "0 câu" in r.stderr
    r = runner.invoke(main, ["feedback", "export", "--user", "lan"])
    assert r.exit_code == 0 and "bo_nhiem_giam_doc.txt" in r.stdout
    assert runner.invoke(main, ["feedback", "export", "--user", "ai-do"]).exit_code == 1
    r = runner.invoke(main, ["ask", "--as", "minh", "--json", "-k", "10", QUESTION])
    assert r.exit_code == 0 and "bo_nhiem_giam_doc.txt" not in r.stdout and "Vinh" not in r.stdout
    r = runner.invoke(main, ["ask", "--as", "lan", "--json", QUESTION])
    assert r.exit_code == 0 and json.loads(r.stdout)["citations"][0]["doc"] == "bo_nhiem_giam_doc.txt"
    # with accounts, documents added or removed on the command line are audited too
    plan = write_files(tmp_path / "ke_hoach", {"ke_hoach.txt": PLAN_A})
    assert runner.invoke(main, ["index", str(plan), "--collection", "noi-bo"]).exit_code == 0
    assert runner.invoke(main, ["remove", "ke_hoach.txt"]).exit_code == 0
    entries = {e.action: e for e in store.audit.entries() if e.action in ("index", "remove")}
    assert "collection=noi-bo" in entries["index"].detail and "ke_hoach.txt" in entries["index"].detail
    assert entries["remove"].detail == "ke_hoach.txt" and entries["remove"].user.startswith("cli:")


def test_a_copy_in_another_collection_is_its_own_document(pipe, tmp_path):
    """Near-duplicates merge only within a collection: a noi-bo copy of a chung document must not
    show its file name to chung readers (as "also in"), nor a chung copy vanish into noi-bo."""
    copy = write_files(tmp_path / "ban_sao", {"ban_sao_lao_cai.txt": CORPUS["lao_cai.txt"]})
    pipe.index([copy], collection="noi-bo")
    docs = pipe.documents()
    assert docs["ban_sao_lao_cai.txt"].collection == "noi-bo"
    assert docs["lao_cai.txt"].also_in == []
    ans = pipe.ask("Lào Cai tích hợp bao nhiêu dịch vụ công?", readable=PUBLIC)
    assert ans.citations[0].doc == "lao_cai.txt"
    assert all("ban_sao" not in " ".join(c.also_in) + c.doc for c in ans.citations + ans.related)
    same = write_files(tmp_path / "ban_sao_chung", {"ban_sao_chung.txt": CORPUS["lao_cai.txt"]})
    pipe.index([same])  # a copy in the same collection is still recorded once
    assert "ban_sao_chung.txt" not in pipe.documents()
    assert pipe.documents()["lao_cai.txt"].also_in == ["ban_sao_chung.txt"]
