"""OCR character accuracy on a hand-transcribed scanned page, and OCR time per page.

`bench/data/<file>.p<N>.txt` holds a hand transcription of part of page N of a scanned PDF in the
real-documents folder. The page is read through `rag.ingest.read_file` (rendering + Tesseract
Vietnamese), the stretch of OCR text that best covers the transcript is found, and character
accuracy = 1 − edit distance / transcript length, whitespace collapsed on both sides.

    python bench/ocr_accuracy.py
"""

from __future__ import annotations

import difflib
import re
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from rag.ingest.files import read_file  # noqa: E402
from rag.vi.text import nfc  # noqa: E402

DOCS = REPO_ROOT.parent / "shared" / "realdocs" / "pdf"
DATA = REPO_ROOT / "bench" / "data"


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", nfc(text)).strip()


def best_window(ocr: str, truth: str) -> str:
    """The part of the OCR text aligned with the transcript (the page has more than was typed)."""
    sm = difflib.SequenceMatcher(None, ocr, truth, autojunk=False)
    blocks = [b for b in sm.get_matching_blocks() if b.size >= 8]
    if not blocks:
        return ocr
    return ocr[blocks[0].a - blocks[0].b:blocks[-1].a + blocks[-1].size + (len(truth) - blocks[-1].b - blocks[-1].size)]


def main() -> int:
    for transcript in sorted(DATA.glob("*.p*.txt")):
        name, page = transcript.name.rsplit(".p", 1)
        page_no = int(page.split(".")[0])
        t0 = time.perf_counter()
        raw = read_file(DOCS / f"{name}.pdf")
        seconds = time.perf_counter() - t0
        truth = _norm(transcript.read_text(encoding="utf-8"))
        ocr = best_window(_norm(raw.pages[page_no - 1]), truth)
        dist = edit_distance(ocr, truth)
        print(f"{name}.pdf p.{page_no}: OCR pages {raw.ocr_pages}, {len(truth)} chars transcribed, "
              f"edit distance {dist}, character accuracy {1 - dist / len(truth):.2%}; "
              f"{seconds / max(1, len(raw.ocr_pages)):.1f} s per OCR page")
    return 0


if __name__ == "__main__":
    sys.exit(main())
