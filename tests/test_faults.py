"""Fault suite (issue #11): what a careless operator, a power cut or a full disk does to the index.

Every case drives what a user runs (the CLI in-process, the pipeline, real processes killed with
SIGKILL, a real full filesystem on a small tmpfs) with the fake embedder standing in for the model.
Each asserts the two promises: nothing the user indexed is lost, and every failure is one line
that names the fix.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import CORPUS, FakeEmbedder

from rag.app.cli import main
from rag.config import Settings
from rag.errors import DiskFullError, IndexStateError
from rag.pipeline import Pipeline
from rag.store import index as idx
from rag.store.build import build

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
EXTRA = ("Hòa Lâm số hóa hồ sơ đất đai\nNăm 2023, tỉnh Hòa Lâm đã số hóa 85% hồ sơ địa chính, phục vụ "
         "tra cứu trực tuyến cho người dân và doanh nghiệp trên toàn tỉnh.\n")
EXTRA_Q = "Hòa Lâm số hóa bao nhiêu phần trăm hồ sơ địa chính?"


@pytest.fixture
def env(tmp_path, monkeypatch, make_corpus):
    """RAG_* into tmp_path, the fake embedder behind Pipeline, the standard corpus, and one more
    document (`extra`) outside it that the user added with `rag index`."""
    for key in list(os.environ):
        if key.startswith("RAG_"):
            monkeypatch.delenv(key)
    corpus = make_corpus()
    extra = make_corpus({"hoa_lam.txt": EXTRA}, name="added")
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "store" / "index"))
    monkeypatch.setenv("RAG_CORPUS", str(corpus))
    monkeypatch.setenv("RAG_SHOW_PROGRESS", "0")
    emb = FakeEmbedder()
    monkeypatch.setattr("rag.pipeline.load_embedder", lambda settings: emb)
    return {"tmp": tmp_path, "corpus": corpus, "index": tmp_path / "store" / "index",
            "extra": extra / "hoa_lam.txt", "embedder": emb}


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def ok(*args: str) -> str:
    res = run(*args)
    assert res.exit_code == 0, (res.stdout, res.stderr, res.exception)
    return res.stdout


def one_line_error(res) -> str:
    assert res.exit_code == 1, (res.stdout, res.stderr, res.exception)
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.stderr + res.stdout
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("Lỗi / error:")]
    assert len(errors) == 1, res.stderr
    return errors[0]


def ask_json(question: str) -> dict:
    return json.loads(ok("ask", question, "--json"))


def cited_docs(answer: dict) -> set[str]:
    return {c["doc"] for c in answer["citations"] + answer["related"]}


def tree(folder: Path) -> dict[str, int]:
    """Every file under folder with its size: what "nothing was deleted" compares."""
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


def user_index(env) -> Path:
    """Seeds-like corpus + one added document + an upload and a feedback db: a lived-in index."""
    ok("index")
    ok("index", str(env["extra"]))
    (env["index"] / "uploads").mkdir()
    (env["index"] / "uploads" / "note.txt").write_text("tải lên", encoding="utf-8")
    (env["index"] / "feedback.sqlite3").write_bytes(b"SQLite format 3\x00")
    return idx.current_version(env["index"])


# ------------------------------------------------------------------ 1, 2: the CURRENT marker

BAD_MARKERS = {
    "empty": b"",
    "newline": b"\n",
    "dotdot": b"..",
    "dot": b".",
    "parent-path": b"../index",
    "absolute": b"/tmp",
    "random-bytes": bytes(range(256))[::7] + b"\xff\xfe\x80",
    "truncated-name": b"v-2026",
    "missing-version": b"v-20200101T000000-1-1",
}


@pytest.mark.parametrize("content", list(BAD_MARKERS.values()), ids=list(BAD_MARKERS))
def test_bad_marker_then_index_deletes_nothing_and_names_repair(env, content) -> None:
    """Issue #11.1: an empty CURRENT, then `rag index X`, used to print success and delete the whole
    index folder; `..` deleted the parent folder's contents; random bytes gave a traceback."""
    version = user_index(env)
    (env["tmp"] / "store" / "sibling.txt").write_text("không được xóa", encoding="utf-8")
    (env["index"] / "CURRENT").write_bytes(content)
    before = tree(env["tmp"])
    line = one_line_error(run("index", str(env["extra"])))
    assert "rag index --repair" in line
    assert tree(env["tmp"]) == before  # nothing deleted, nothing written
    line = one_line_error(run("ask", EXTRA_Q))
    assert "rag index --repair" in line
    assert tree(env["tmp"]) == before  # and no rebuild from the corpus
    out = ok("index", "--repair")
    assert version.name in out
    assert "hoa_lam.txt" in cited_docs(ask_json(EXTRA_Q))  # the added document is back


@pytest.mark.parametrize("what", ["missing-marker", "truncated-marker"])
def test_lost_marker_is_no_first_run(env, what) -> None:
    """Issue #11.2: CURRENT truncated or missing → `rag ask` said "first run" and rebuilt from the
    corpus alone, dropping every added document."""
    user_index(env)
    marker = env["index"] / "CURRENT"
    if what == "missing-marker":
        marker.unlink()
    else:
        marker.write_bytes(marker.read_bytes()[:5])
    before = tree(env["index"])
    res = run("ask", EXTRA_Q)
    assert "rag index --repair" in one_line_error(res)
    assert "lần đầu" not in res.stderr and tree(env["index"]) == before
    ok("index", "--repair")
    assert "hoa_lam.txt" in cited_docs(ask_json(EXTRA_Q))


def test_lost_marker_then_index_deletes_nothing(env) -> None:
    """CURRENT missing, then `rag index X`: building on would write an index of X alone and
    delete the versions holding everything else."""
    version = user_index(env)
    (env["index"] / "CURRENT").unlink()
    before = tree(env["index"])
    assert "rag index --repair" in one_line_error(run("index", str(env["extra"])))
    assert tree(env["index"]) == before
    ok("index", "--repair")
    assert idx.current_version(env["index"]) == version


def test_fresh_index_folder_still_builds_from_the_corpus(env) -> None:
    """The README's front door: `rag ask` on a fresh clone builds the corpus index (an interrupted
    first build's leftovers and the UI's feedback database don't make a folder less fresh)."""
    env["index"].mkdir(parents=True)
    (env["index"] / "feedback.sqlite3").write_bytes(b"")
    (env["index"] / ".tmp-20200101T000000-1-1").mkdir()
    answer = ask_json("Lào Cai tích hợp bao nhiêu dịch vụ công?")
    assert answer["found"] and "lao_cai.txt" in cited_docs(answer)
    assert not (env["index"] / ".tmp-20200101T000000-1-1").exists()


def test_marker_is_written_durably(env, monkeypatch) -> None:
    """CURRENT is fsynced before the rename and its folder after, so a power cut cannot leave it
    empty (issue #11.1: it was written without fsync)."""
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    ok("index")
    version = idx.current_version(env["index"])
    marker_tmp = [p for p in synced if Path(p).name.startswith(".CURRENT-")]
    assert marker_tmp, synced
    folder_tmp = str(env["index"] / (".tmp-" + version.name[2:]))
    assert folder_tmp in synced  # the version's files and folder, before it is renamed
    assert synced.index(folder_tmp) < synced.index(marker_tmp[-1])
    assert synced[-1] == str(env["index"])  # the folder holding the renamed CURRENT, last
    assert (env["index"] / "CURRENT").read_text(encoding="ascii") == version.name + "\n"


def test_repair_picks_the_newest_complete_version(env) -> None:
    ok("index")
    v1 = idx.current_version(env["index"])
    keep = env["tmp"] / "v1-copy"
    shutil.copytree(v1, keep)
    ok("index", str(env["extra"]))
    v2 = idx.current_version(env["index"])
    shutil.copytree(keep, v1)  # an older complete version left behind
    damaged = env["index"] / "v-29991231T235959-1-1"  # newest by name, but not complete
    shutil.copytree(v2, damaged)
    (damaged / "vectors.npy").write_bytes(b"\x93NUMPY" + b"\x00" * 50)
    (env["index"] / "CURRENT").write_bytes(b"")
    out = ok("index", "--repair")
    assert v2.name in out
    assert idx.current_version(env["index"]) == v2
    assert {p.name for p in env["index"].iterdir()} == {"CURRENT", v2.name, ".lock"}  # leftovers gone


def test_repair_without_a_complete_version_says_rebuild(env) -> None:
    ok("index")
    version = idx.current_version(env["index"])
    (version / "chunks.jsonl").write_text("{}", encoding="utf-8")
    assert "rag index --rebuild" in one_line_error(run("index", "--repair"))


# ------------------------------------------------------------------ 9: damaged arrays

ARRAYS = ["vectors.npy", "bm25/data.csc.index.npy", "bm25/indices.csc.index.npy",
          "bm25/indptr.csc.index.npy"]


def _scribble(path: Path, seed: int = 0) -> None:
    """Random bytes after the .npy header: the shape still reads fine, the values are garbage."""
    data = bytearray(path.read_bytes())
    header = 128
    rng = np.random.default_rng(seed)
    n = max(1, min(64, len(data) - header))
    data[header:header + n] = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ARRAYS)
def test_damaged_array_is_detected_on_load(env, name) -> None:
    """Issue #11.9: answers were served from damaged scores (indices: an IndexError traceback)."""
    ok("index")
    version = idx.current_version(env["index"])
    _scribble(version / name)
    line = one_line_error(run("ask", "Lào Cai tích hợp bao nhiêu dịch vụ công?"))
    assert "corrupt" in line and name in line
    assert "rag index --repair" in line
    res = run("index", "--check")
    assert res.exit_code == 1 and name in res.stderr


def test_check_passes_on_a_sound_index_and_hashes_every_file(env) -> None:
    ok("index")
    out = ok("index", "--check")
    version = idx.current_version(env["index"])
    meta = idx.read_version_meta(version)
    assert "index OK" in out
    assert set(meta.files) == {str(p.relative_to(version)) for p in version.rglob("*")
                               if p.is_file() and p.name != "meta.json"}
    _scribble(version / "dense.faiss")  # not read when answering (exact search): --check sees it
    ask_json("Lào Cai tích hợp bao nhiêu dịch vụ công?")
    assert "dense.faiss" in run("index", "--check").stderr


def _as_written_before_checksums(version: Path) -> None:
    raw = json.loads((version / "meta.json").read_text(encoding="utf-8"))
    del raw["files"]
    for doc in raw["documents"].values():
        del doc["fingerprint"], doc["ocr_pages"]  # keys added over time
    (version / "meta.json").write_text(json.dumps(raw), encoding="utf-8")


def test_index_without_checksums_still_loads_and_gets_them_on_the_next_build(env) -> None:
    """Indexes written before checksums existed (the lead's large ones) load, unverified."""
    ok("index")
    _as_written_before_checksums(idx.current_version(env["index"]))
    assert ask_json("Lào Cai tích hợp bao nhiêu dịch vụ công?")["found"]
    res = run("index", "--check")
    assert res.exit_code == 0 and "no checksums" in res.stderr and "unverified" in res.stdout
    env["embedder"].passage_batches.clear()
    ok("index")  # any later build records them, embedding nothing
    assert env["embedder"].embedded_texts == []
    assert "index OK" in ok("index", "--check")


def test_damaged_bm25_offsets_without_checksums_are_one_line(env) -> None:
    """Without checksums, damaged BM25 offsets are caught when searching: one line instead of an
    IndexError traceback."""
    ok("index")
    version = idx.current_version(env["index"])
    _as_written_before_checksums(version)
    indices = np.load(version / "bm25/indices.csc.index.npy")
    indices[:] = 10**6
    np.save(version / "bm25/indices.csc.index.npy", indices)
    line = one_line_error(run("ask", "Lào Cai tích hợp bao nhiêu dịch vụ công?"))
    assert "corrupt" in line


# ------------------------------------------------------------------ 3: deletion for real

def _chunk_docs(env) -> set[str]:
    return {c.doc_id for c in idx.load_index(env["index"]).chunks}


def test_sync_removes_deleted_files_everywhere(env) -> None:
    """Issue #11.3: a file deleted from the corpus folder stayed retrievable and cited after
    `rag index` of that folder."""
    ok("index")
    q = "Đà Nẵng kinh tế số đóng góp bao nhiêu phần trăm?"
    assert "da_nang.txt" in cited_docs(ask_json(q))
    (env["corpus"] / "da_nang.txt").unlink()
    res = run("index", str(env["corpus"]))
    assert res.exit_code == 0 and "--sync" in res.stderr  # plain index: kept, with the way out
    out = ok("index", "--sync", str(env["corpus"]))
    assert "removed: da_nang.txt" in out
    answer = ask_json(q)
    assert "da_nang.txt" not in cited_docs(answer)  # neither cited nor among related passages
    assert "16,5%" not in answer["answer"]
    assert "da_nang.txt" not in idx.read_meta(env["index"]).documents
    assert "da_nang.txt" not in _chunk_docs(env)
    loaded = idx.load_index(env["index"])
    assert "nẵng" not in loaded.vocab.to_dict().get("words", {}) and "nang" not in loaded.df


def test_sync_repoints_a_renamed_file_without_embedding(env) -> None:
    ok("index")
    env["embedder"].passage_batches.clear()
    (env["corpus"] / "da_nang.txt").rename(env["corpus"] / "da_nang_2022.txt")
    out = ok("index", "--sync", str(env["corpus"]))
    assert "renamed: da_nang.txt → da_nang_2022.txt" in out
    assert env["embedder"].embedded_texts == []
    assert {"da_nang_2022.txt"} <= _chunk_docs(env) and "da_nang.txt" not in _chunk_docs(env)
    answer = ask_json("Đà Nẵng kinh tế số đóng góp bao nhiêu phần trăm?")
    assert "da_nang_2022.txt" in cited_docs(answer) and "da_nang.txt" not in cited_docs(answer)


def test_sync_forgets_a_deleted_copy(env) -> None:
    """A file indexed once as a copy of another ("also in") and then deleted is not named again."""
    shutil.copy(env["corpus"] / "lao_cai.txt", env["corpus"] / "lao_cai_ban_sao.txt")
    ok("index")
    q = "Lào Cai tích hợp bao nhiêu dịch vụ công?"
    assert "lao_cai_ban_sao.txt" in ok("ask", q)
    (env["corpus"] / "lao_cai_ban_sao.txt").unlink()
    ok("index", "--sync", str(env["corpus"]))
    assert "lao_cai_ban_sao.txt" not in ok("ask", q) + json.dumps(ask_json(q))
    assert all(not r.also_in for r in idx.read_meta(env["index"]).documents.values())


def test_remove_a_copy_keeps_the_document(env) -> None:
    shutil.copy(env["corpus"] / "lao_cai.txt", env["corpus"] / "lao_cai_ban_sao.txt")
    ok("index")
    out = ok("remove", "lao_cai_ban_sao.txt")
    assert "removed: lao_cai_ban_sao.txt (bản sao / a copy of another document)" in out
    meta = idx.read_meta(env["index"])
    assert set(meta.documents) == set(CORPUS) and not meta.documents["lao_cai.txt"].also_in
    assert "lao_cai_ban_sao.txt" not in ok("ask", "Lào Cai tích hợp bao nhiêu dịch vụ công?")


def test_remove_by_name_id_or_path(env) -> None:
    ok("index")
    ok("index", str(env["extra"]))
    out = ok("remove", "quoc_gia.txt", str(env["extra"]))
    assert "removed: quoc_gia.txt" in out and "removed: hoa_lam.txt" in out
    assert set(idx.read_meta(env["index"]).documents) == {"lao_cai.txt", "da_nang.txt"}
    assert _chunk_docs(env) == {"lao_cai.txt", "da_nang.txt"}
    assert env["extra"].exists()  # the user's file is not deleted
    answer = ask_json(EXTRA_Q)
    assert not {"hoa_lam.txt", "quoc_gia.txt"} & cited_docs(answer)
    assert "85%" not in answer["answer"]
    assert env["embedder"].embedded_texts.count(EXTRA.split("\n")[1]) <= 1  # nothing re-embedded


def test_remove_unknown_or_every_document_is_a_clear_error(env) -> None:
    ok("index")
    assert "khong_co.txt" in one_line_error(run("remove", "khong_co.txt"))
    assert "every document" in one_line_error(run("remove", *CORPUS))
    assert set(idx.read_meta(env["index"]).documents) == set(CORPUS)


def test_removed_upload_is_deleted_from_uploads(env) -> None:
    from rag.app.uploads import add_upload

    ok("index")
    pipe = Pipeline(Settings(corpus=env["corpus"], index_dir=env["index"], show_progress=False),
                    embedder=env["embedder"])
    res = add_upload(pipe, "hoa_lam.txt", EXTRA.encode())
    assert res.path.exists()
    ok("remove", res.doc_id)
    assert not res.path.exists()  # else `rag index --sync uploads/` would bring it back


# ------------------------------------------------------------------ 11: first run racing a build

def test_first_run_during_first_index_of_another_folder_adds_no_corpus(env, monkeypatch) -> None:
    """Issue #11.11: `rag ask` during the first `rag index NEW_FOLDER` added the corpus documents
    to the user's index once the build it waited for finished."""
    settings = Settings(corpus=env["corpus"], index_dir=env["index"], show_progress=False)
    started, release = threading.Event(), threading.Event()

    class SlowEmbedder(FakeEmbedder):
        def embed_passages(self, texts, show_progress=False):
            started.set()
            release.wait(10)
            return super().embed_passages(texts, show_progress)

    builder = threading.Thread(target=build, args=(settings, SlowEmbedder(), [env["extra"]]))
    builder.start()
    assert started.wait(10)
    asked: list[object] = []
    asker = threading.Thread(target=lambda: asked.append(
        Pipeline(settings, embedder=env["embedder"]).ask(EXTRA_Q)))
    asker.start()
    time.sleep(0.3)  # the asker is now waiting for the build lock
    release.set()
    builder.join(10)
    asker.join(10)
    assert asked and {c.doc for c in asked[0].citations + asked[0].related} == {"hoa_lam.txt"}
    assert set(idx.read_meta(env["index"]).documents) == {"hoa_lam.txt"}


# ------------------------------------------------------------------ 13: disk full

def test_faiss_short_write_is_disk_full_and_keeps_the_index(env, monkeypatch) -> None:
    """The message faiss gives on a full disk ("N requested and M written") becomes one line."""
    import faiss

    ok("index")
    version = idx.current_version(env["index"])

    def short_write(*args, **kwargs):
        raise RuntimeError("Error in faiss::FileIOWriter::operator() ... 10982 requested and 10208 written")

    monkeypatch.setattr(faiss, "write_index", short_write)
    line = one_line_error(run("index", str(env["extra"])))
    assert "disk full" in line and "không đủ dung lượng đĩa" in line
    assert idx.current_version(env["index"]) == version
    assert {p.name for p in env["index"].iterdir()} == {"CURRENT", version.name, ".lock"}


def _mount_tmpfs(where: Path, size: str) -> str | None:
    """Mount a small tmpfs (needs root); returns why not, or None when mounted."""
    if shutil.which("mount") is None or os.geteuid() != 0:
        return "needs root and mount(8) to create a small tmpfs"
    where.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                         capture_output=True, text=True)
    return None if res.returncode == 0 else f"mount -t tmpfs failed: {res.stderr.strip()}"


@pytest.fixture
def small_disk(tmp_path):
    where = tmp_path / "small-disk"
    reason = _mount_tmpfs(where, "4m")
    if reason:
        pytest.skip(reason)
    yield where
    subprocess.run(["umount", str(where)], check=False)


def _fill(folder: Path, leave: int) -> None:
    """Fill the filesystem holding `folder` until `leave` bytes are free."""
    free = shutil.disk_usage(folder).free
    with open(folder / "filler", "wb") as fh:
        fh.write(b"\0" * max(0, free - leave))


def test_real_full_disk_keeps_the_old_index(env, small_disk, monkeypatch) -> None:
    """Issue #11.13: a full disk gave a faiss traceback and "10982 requested and 10208 written"."""
    index_dir = small_disk / "index"
    monkeypatch.setenv("RAG_INDEX_DIR", str(index_dir))
    ok("index")
    version = idx.current_version(index_dir)
    before = tree(version)
    _fill(small_disk, leave=16 * 1024)
    line = one_line_error(run("index", str(env["extra"])))
    assert "không đủ dung lượng đĩa / disk full" in line
    assert idx.current_version(index_dir) == version and tree(version) == before
    assert not [p for p in index_dir.iterdir() if p.name.startswith((".tmp-", ".CURRENT-"))]
    assert ask_json("Lào Cai tích hợp bao nhiêu dịch vụ công?")["found"]
    (small_disk / "filler").unlink()
    ok("index", str(env["extra"]))  # space back: it works
    assert "hoa_lam.txt" in idx.read_meta(index_dir).documents


def test_full_disk_while_writing_the_marker(env, small_disk, monkeypatch) -> None:
    index_dir = small_disk / "index"
    settings = Settings(corpus=env["corpus"], index_dir=index_dir, show_progress=False)
    build(settings, env["embedder"])
    version = idx.current_version(index_dir)
    real = idx.write_marker

    def fill_then_write(index_dir_: Path, name: str) -> None:
        _fill(small_disk, leave=0)
        real(index_dir_, name)

    monkeypatch.setattr(idx, "write_marker", fill_then_write)
    with pytest.raises(DiskFullError):
        build(settings, env["embedder"], [env["extra"]])
    assert (index_dir / "CURRENT").read_text(encoding="ascii").strip() == version.name
    assert [p.name for p in index_dir.iterdir() if p.name.startswith("v-")] == [version.name]


# ------------------------------------------------------------------ kill -9, concurrent writers

WRITER = textwrap.dedent("""
    import os, signal, sys
    sys.path[:0] = [{tests!r}, {repo!r}]
    from pathlib import Path
    from conftest import FakeEmbedder
    from rag.config import Settings
    from rag.store import index as idx
    from rag.store.build import build

    def die_after(real):
        def wrapped(*args, **kwargs):
            out = real(*args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)
            return out
        return wrapped

    def die_before(real):
        def wrapped(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)
        return wrapped

    kill_at = os.environ.get("KILL_AT")
    if kill_at == "mid-version":  # vectors.npy written, the rest of the version not
        idx.np.save = die_after(idx.np.save)
    elif kill_at == "before-marker":  # version folder complete and renamed, CURRENT not written
        idx.write_marker = die_before(idx.write_marker)
    elif kill_at == "marker-rename":  # .CURRENT-* written and fsynced, not yet renamed over CURRENT
        real_replace = os.replace
        idx.os.replace = lambda a, b: (os.kill(os.getpid(), signal.SIGKILL) if Path(b).name == "CURRENT"
                                       else real_replace(a, b))
    elif kill_at == "before-cleanup":  # CURRENT swapped, the previous version not yet removed
        idx.clean_leftovers = die_before(idx.clean_leftovers)
    settings = Settings(corpus=Path({corpus!r}), index_dir=Path({index!r}), show_progress=False)
    emb = FakeEmbedder()
    paths = [Path(p) for p in sys.argv[2:]] or None
    for i in range(int(sys.argv[1])):
        build(settings, emb, paths, rebuild=i % 2 == 1)
        print("built", flush=True)
""")


def _writer(env, *args: str, kill_at: str = "") -> subprocess.Popen:
    script = WRITER.format(tests=str(TESTS), repo=str(REPO), corpus=str(env["corpus"]),
                           index=str(env["index"]))
    return subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "KILL_AT": kill_at})


@pytest.mark.parametrize("kill_at, live", [("mid-version", "old"), ("before-marker", "old"),
                                           ("marker-rename", "old"), ("before-cleanup", "new")])
def test_kill_9_at_each_step_of_a_write(env, kill_at, live) -> None:
    """SIGKILL at each step of writing a version: the index loads whole (the old version until
    CURRENT is renamed, the new one after), `--check` finds nothing wrong, and the next build
    removes what the killed one left."""
    ok("index")
    old = idx.current_version(env["index"])
    proc = _writer(env, "1", str(env["extra"]), kill_at=kill_at)
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    leftovers = {p.name for p in env["index"].iterdir()} - {"CURRENT", ".lock", old.name}
    assert leftovers  # the kill really interrupted a write
    loaded = idx.load_index(env["index"])
    assert (loaded.path == old) == (live == "old")
    assert ("hoa_lam.txt" in loaded.meta.documents) == (live == "new")
    assert "index OK" in ok("index", "--check")
    ok("index", str(env["extra"]))
    assert {p.name for p in env["index"].iterdir()} == {
        "CURRENT", ".lock", idx.current_version(env["index"]).name}
    assert set(idx.read_meta(env["index"]).documents) == {*CORPUS, "hoa_lam.txt"}


def test_kill_9_during_writes_never_damages_the_index(env) -> None:
    """SIGKILL at many points of repeated builds (alternating incremental and full): the index
    always loads whole, and the next build removes what the killed one left."""
    ok("index")
    ok("index", str(env["extra"]))
    rng = np.random.default_rng(11)
    for _ in range(6):
        proc = _writer(env, "50")
        proc.stdout.readline()  # one build done: its interpreter and imports are warm
        time.sleep(float(rng.uniform(0.0, 0.4)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        loaded = idx.load_index(env["index"])
        assert {c.doc_id for c in loaded.chunks} >= set(CORPUS)
        assert idx.check(env["index"])[1:] == ([], [])
    build(Settings(corpus=env["corpus"], index_dir=env["index"], show_progress=False), env["embedder"])
    assert not [p for p in env["index"].iterdir() if p.name.startswith((".tmp-", ".CURRENT-"))]
    assert len([p for p in env["index"].iterdir() if p.name.startswith("v-")]) == 1


def test_concurrent_writers_all_land(env, make_corpus) -> None:
    """Three processes add three different files at once: the build lock queues them and every
    document is in the final index."""
    ok("index")
    texts = [EXTRA,
             "Bình Sơn mở trung tâm dữ liệu\nTrung tâm dữ liệu của tỉnh Bình Sơn vận hành từ tháng 6, "
             "lưu trữ hồ sơ điện tử của 120 cơ quan và đơn vị sự nghiệp công lập.\n",
             "Thư viện số Mường Tè\nHuyện Mường Tè khai trương thư viện số với 4.000 đầu sách điện tử, "
             "học sinh các trường nội trú có thể đọc miễn phí qua mạng.\n"]
    files = [make_corpus({f"tinh_{i}.txt": text}, name=f"w{i}") / f"tinh_{i}.txt"
             for i, text in enumerate(texts)]
    procs = [_writer(env, "1", str(f)) for f in files]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert set(idx.read_meta(env["index"]).documents) == {*CORPUS, *(f.name for f in files)}
    assert idx.check(env["index"])[1:] == ([], [])


def test_leftover_tmp_folders_are_cleaned(env) -> None:
    """Issue #11.15: `.tmp-*` folders of interrupted builds were never removed."""
    ok("index")
    for name in (".tmp-20200101T000000-1-1", ".CURRENT-20200101T000000-1-1", "v-20200101T000000-1-1"):
        p = env["index"] / name
        p.mkdir() if not name.startswith(".CURRENT") else p.write_text("x")
    (env["index"] / "notes-of-the-operator.txt").write_text("giữ lại", encoding="utf-8")
    ok("index", str(env["extra"]))
    assert {p.name for p in env["index"].iterdir()} == {
        "CURRENT", ".lock", idx.current_version(env["index"]).name, "notes-of-the-operator.txt"}


def test_index_state_error_is_raised_for_a_bad_marker_in_the_library(tmp_path) -> None:
    (tmp_path / "CURRENT").write_bytes(b"..")
    with pytest.raises(IndexStateError, match="--repair"):
        idx.current_version(tmp_path)
    assert not idx.is_fresh(tmp_path)


def test_full_disk_in_the_ui_is_a_message_not_a_stack_trace(env, small_disk, monkeypatch) -> None:
    """Issue #11.13: in the UI a stack trace replaced the page. A first start on a full disk (the
    corpus index cannot be written) says so in one message."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("RAG_INDEX_DIR", str(small_disk / "index"))
    monkeypatch.setenv("RAG_FEEDBACK_DB", str(env["tmp"] / "feedback.sqlite3"))
    _fill(small_disk, leave=8 * 1024)
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO / "ui" / "app.py"), default_timeout=60)
    at.run()
    st.cache_resource.clear()
    assert not at.exception, at.exception
    assert "không đủ dung lượng đĩa / disk full" in at.error[0].value


# ------------------------------------------------------------------ end to end, real model

@pytest.mark.slow
def test_real_model_remove_sync_and_repair_through_the_cli(tmp_path) -> None:
    """What a user runs: `python -m rag` with the packaged model on a copy of the seeds."""
    corpus = tmp_path / "van-ban"
    shutil.copytree(REPO / "seeds", corpus)
    index_dir = tmp_path / "index"
    environ = {**os.environ, "RAG_INDEX_DIR": str(index_dir), "RAG_SHOW_PROGRESS": "0"}

    def rag(*args: str, code: int = 0) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True,
                              env=environ, cwd=REPO, timeout=600)
        assert proc.returncode == code, proc.stderr
        return proc

    lao_cai_q, lao_cai = "Lào Cai tích hợp bao nhiêu dịch vụ công?", "000_f6b367151ac29e37.txt"
    rag("index", str(corpus))
    assert lao_cai in cited_docs(json.loads(rag("ask", lao_cai_q, "--json").stdout))
    rag("remove", lao_cai)
    answer = json.loads(rag("ask", lao_cai_q, "--json").stdout)
    assert lao_cai not in cited_docs(answer) and "1.305" not in answer["answer"]

    other = sorted(p.name for p in corpus.iterdir() if p.name != lao_cai)[0]
    (corpus / other).rename(corpus / f"moi_{other}")
    (corpus / lao_cai).unlink()
    out = rag("index", "--sync", str(corpus)).stdout
    assert f"{other} → moi_{other}" in out and "nhúng mới 0" in out

    (index_dir / "CURRENT").write_bytes(b"")
    assert "rag index --repair" in rag("ask", lao_cai_q, code=1).stderr
    rag("index", "--repair")
    assert set(idx.read_meta(index_dir).documents) == {p.name for p in corpus.iterdir()}
    assert lao_cai not in cited_docs(json.loads(rag("ask", lao_cai_q, "--json").stdout))
    assert "index OK" in rag("index", "--check").stdout
