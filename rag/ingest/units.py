"""Answer units: the sentences, clauses and table cells of a passage that an answer can quote.

The extractive answerer chooses among these spans, and the index stores an e5 vector per span
(rag/store/units.py) so the choice can use the question–sentence similarity without embedding
anything at question time. Both must cut a passage the same way, hence one function here.
"""

from __future__ import annotations

import re

from ..vi.text import split_sentences

LONG_SENTENCE = 450  # a longer sentence with ';' is cut into its clauses
CELL_RE = re.compile(r"\n\n| \| ")  # paragraph breaks, and table cells ("cell | cell", formats.pdf_tables)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans that never cross a paragraph break (a merged headline stays apart) or a
    table cell boundary (a row's "thời hạn" cell is not one sentence with its "căn cứ" cell)."""
    out, pos = [], 0
    for m in [*CELL_RE.finditer(text), None]:
        end = m.start() if m else len(text)
        out.extend((pos + s, pos + e) for s, e in split_sentences(text[pos:end]))
        pos = m.end() if m else end
    return out


def answer_units(text: str) -> list[tuple[int, int]]:
    """Sentences; a very long one is cut into its ';'-separated clauses."""
    out = []
    for s, e in sentence_spans(text):
        if e - s <= LONG_SENTENCE or ";" not in text[s:e]:
            out.append((s, e))
            continue
        pos = s
        for m in re.finditer(r";\s*", text[s:e]):
            out.append((pos, s + m.start()))
            pos = s + m.end()
        out.append((pos, e))
    return [(s, e) for s, e in out if e - s > 3]


def row_head(text: str, start: int) -> str:
    """For a sentence inside a table cell, the row's first two cells ("02 | Cấp giấy chứng nhận
    …"): they say what the row is about, so a "thời hạn" cell is matched with its procedure."""
    para = text.rfind("\n\n", 0, start) + 1
    seps = [m.start() for m in re.finditer(r" \| ", text[para:start])]
    return text[para:para + seps[min(1, len(seps) - 1)]] if seps else ""


def unit_text(text: str, start: int, end: int) -> str:
    """What stands for the unit `text[start:end]` when it is matched or embedded: a table cell
    with its row's first cells (a "thời hạn" cell says nothing of which procedure it belongs to),
    any other unit as it is."""
    return f"{row_head(text, start)} {text[start:end]}".strip()
