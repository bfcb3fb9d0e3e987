"""Where the stages meet: settings → index + embedder → retrieve → answer.

`Pipeline` loads the model and index once; `ask` is then cheap, so the CLI's batch mode, the
eval runner and the UI share one code path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import index as idx
from .answerers.base import Answerer
from .answerers.extractive import ExtractiveAnswerer
from .config import Settings
from .embedders.base import Embedder, load_embedder
from .errors import IndexStateError, InputError
from .gazetteer import FOLDED_PROVINCES
from .indexer import IndexReport, build
from .progress import status
from .query import analyse
from .retrieve import HybridRetriever, SearchFilter, restore_if_unaccented
from .types import Answer, Hit

MAX_QUESTION_CHARS = 2000


@dataclass
class Result:
    answer: Answer
    hits: list[Hit]
    restored: str


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
            self._answerer = ExtractiveAnswerer(loaded.idf(), loaded.chunks)
        return loaded

    @property
    def retriever(self) -> HybridRetriever:
        self.ensure_index()
        assert self._retriever is not None
        return self._retriever

    def index(self, paths: list[Path] | None = None, rebuild: bool = False) -> IndexReport:
        report = build(self.settings, self.embedder, paths, rebuild)
        self._index = None  # reload lazily with the new version
        return report

    def run(self, question: str, k: int | None = None, flt: SearchFilter | None = None) -> Result:
        q = validate_question(question)
        index = self.ensure_index()
        assert self._answerer is not None
        restored = restore_if_unaccented(q, index)
        hits = self.retriever.search(q, k or self.settings.k, flt, restored=restored)
        info = analyse(q, restored, FOLDED_PROVINCES)
        answer = self._answerer.answer(info, hits)
        if restored != q:
            answer.rewritten_question = restored
        return Result(answer, hits, restored)

    def ask(self, question: str, k: int | None = None, flt: SearchFilter | None = None) -> Answer:
        return self.run(question, k, flt).answer
