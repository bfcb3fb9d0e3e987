"""Records between stages: a citation carries its chunk's provenance and keeps the JSON contract."""

from __future__ import annotations

from rag.types import Answer, Chunk, Citation, Hit

CHUNK = Chunk(chunk_id="c1", doc_id="qd.pdf", source="qd.pdf", title="Quyết định 1629/QĐ-UBND", date="2023-05-10",
              paragraph=2, start=10, end=60, text="Thời hạn giải quyết: 05 ngày làm việc.", page=3, ocr=True,
              doc_number="1629/QĐ-UBND", doc_type="Quyết định", issuer="ỦY BAN NHÂN DÂN TỈNH LÀO CAI",
              also_in=["qd-ban-in.pdf"])


def test_citation_copies_every_provenance_field_of_its_chunk() -> None:
    cite = Citation.of(1, Hit(CHUNK, 0.91234567), quote="05 ngày làm việc")
    assert (cite.doc, cite.title, cite.date, cite.chunk_id, cite.text, cite.page) == (
        "qd.pdf", CHUNK.title, "2023-05-10", "c1", CHUNK.text, 3)
    assert (cite.ocr, cite.doc_number, cite.doc_type, cite.issuer) == (
        True, "1629/QĐ-UBND", "Quyết định", "ỦY BAN NHÂN DÂN TỈNH LÀO CAI")
    assert cite.also_in == ["qd-ban-in.pdf"] and cite.also_in is not CHUNK.also_in


def test_json_citation_keys_and_order_are_the_contract() -> None:
    cite = Citation.of(1, Hit(CHUNK, 0.91234567), quote="05 ngày làm việc")
    out = Answer("q", "05 ngày làm việc [1]", True, citations=[cite]).to_json_dict()["citations"][0]
    assert list(out) == ["n", "doc", "title", "date", "chunk_id", "text", "quote", "score", "page",
                         "ocr", "doc_number", "doc_type", "issuer", "also_in"]
    assert out["score"] == 0.912346 and out["also_in"] == ["qd-ban-in.pdf"]
