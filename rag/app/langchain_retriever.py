"""The hybrid retriever as a LangChain `BaseRetriever`, for chains that want `Document`s.

Kept out of the `rag ask` path: importing langchain-core costs ~1 s of start-up.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from ..pipeline import Pipeline, validate_question
from ..search.retrieve import SearchFilter, restore_if_unaccented


class HybridLangChainRetriever(BaseRetriever):
    """Returns the top-k chunks with their provenance as metadata.

    >>> retriever = HybridLangChainRetriever(pipeline=Pipeline(load_settings()), k=4)
    >>> docs = retriever.invoke("Lào Cai tích hợp bao nhiêu dịch vụ công?")
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    pipeline: Any
    k: int = 5
    search_filter: SearchFilter | None = None

    def _get_relevant_documents(self, query: str, *,
                                run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        pipe: Pipeline = self.pipeline
        query = validate_question(query)
        index = pipe.ensure_index()
        restored = restore_if_unaccented(query, index)
        hits = pipe.retriever.search(query, self.k, self.search_filter, restored=restored)
        return [Document(page_content=h.chunk.text, id=h.chunk.chunk_id,
                         metadata={**h.chunk.to_dict(), "score": h.score,
                                   "dense_rank": h.dense_rank, "bm25_rank": h.bm25_rank})
                for h in hits]
