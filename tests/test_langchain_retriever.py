"""The LangChain adapter over the real index and model."""

import pytest
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from rag.app.langchain_retriever import HybridLangChainRetriever
from rag.config import load_settings
from rag.pipeline import Pipeline
from rag.types import SearchFilter


@pytest.mark.slow
def test_invoke_returns_documents_with_chunk_metadata(tmp_path):
    pipe = Pipeline(load_settings(index_dir=tmp_path / "index", show_progress=False))
    retriever = HybridLangChainRetriever(pipeline=pipe, k=3)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("lao cai tich hop bao nhieu dich vu cong")
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    top = docs[0]
    assert "1.305" in top.page_content
    assert top.metadata["source"] == "000_f6b367151ac29e37.txt"
    assert {"chunk_id", "title", "date", "paragraph", "start", "end", "score"} <= set(top.metadata)

    only_2025 = HybridLangChainRetriever(pipeline=pipe, k=3,
                                         search_filter=SearchFilter(date_from="2025-01-01"))
    assert {d.metadata["date"][:4] for d in only_2025.invoke("chuyển đổi số")} == {"2025"}
