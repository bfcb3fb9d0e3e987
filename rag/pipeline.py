"""Where the stages meet: settings → index + embedder → retrieve → answer.

`Pipeline` loads the model and index once; `ask` is then cheap, so the CLI's batch mode, the
eval runner and the UI share one code path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .answerers.base import Answerer
from .answerers.extractive import ExtractiveAnswerer
from .config import Settings
from .embedders.base import Embedder, load_embedder
from .errors import IndexFormatError, IndexStateError, InputError
from .progress import status
from .search.query import QuestionInfo, analyse
from .search.retrieve import HybridRetriever, SearchFilter, restore_if_unaccented
from .store import index as idx
from .store.build import IndexReport, build
from .store.build import remove as remove_documents
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


def validate_question(question: str | None) -> str:
    q = (question or "").strip()
    if not q:
        raise InputError("Câu hỏi trống / empty question: hãy nhập câu hỏi, ví dụ "
                         "rag ask \"Lào Cai tích hợp bao nhiêu dịch vụ công?\"")
    if len(q) > MAX_QUESTION_CHARS:
        raise InputError(f"Câu hỏi quá dài / question too long (> {MAX_QUESTION_CHARS} ký tự)")
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
        """Load the index, building it from the corpus first when the index folder is truly
        fresh (no marker, no version, no upload): the first run of a new clone. Anything else
        that cannot be loaded is an error naming the fix — never a rebuild from the corpus alone,
        which would drop every added document. A long-lived process (the UI) sees updates by
        others: when CURRENT names another version than the loaded one (one small file read per
        call), the new version is loaded."""
        index_dir = Path(self.settings.index_dir)
        if self._index is not None and idx.current_version(index_dir) == self._index.path:
            return self._index
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
        paths = [Path(d.path) for d in (meta.documents.values() if meta else []) if Path(d.path).exists()]
        status("Chỉ mục định dạng cũ: đang xây lại / old index format: rebuilding…", self.settings.show_progress)
        build(self.settings, self.embedder, paths or None, rebuild=True)
        return idx.load_index(index_dir)

    @property
    def retriever(self) -> HybridRetriever:
        self.ensure_index()
        assert self._retriever is not None
        return self._retriever

    def index(self, paths: list[Path] | None = None, rebuild: bool = False,
              sync: bool = False) -> IndexReport:
        report = build(self.settings, self.embedder, paths, rebuild, sync=sync)
        self._index = None  # reload lazily with the new version
        return report

    def remove(self, refs: list[str]) -> tuple[IndexReport, dict[str, idx.DocumentRecord]]:
        """Take documents (ids, paths or file names) out of the index; no model is loaded."""
        report, removed = remove_documents(self.settings, refs)
        self._index = None
        return report, removed

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
