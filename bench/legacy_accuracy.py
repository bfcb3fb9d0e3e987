"""How much of a legacy-font document comes back right: accented-word recall against transcripts.

For every `ground-truth/NAME.txt` in the real-documents folder, the file `NAME.pdf` / `NAME.doc`
is read through `rag.ingest.read_file` (so extraction, encoding detection, conversion and repairs
are all measured together), and the accented words of the transcript — the words a wrong or
missing conversion breaks — are matched as a multiset against the words read. Case-sensitive
recall is the target (≥ 99 %); case-folded recall is shown beside it.

    python bench/legacy_accuracy.py                 # ../shared/realdocs beside the repo
    python bench/legacy_accuracy.py --docs DIR --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from rag.ingest.files import read_file  # noqa: E402
from rag.vi.legacy_encoding import join_split_syllables  # noqa: E402
from rag.vi.syllables import tokens  # noqa: E402
from rag.vi.text import has_diacritics, nfc  # noqa: E402

DEFAULT_DOCS = REPO_ROOT.parent / "shared" / "realdocs"


def accented_words(text: str) -> Counter[str]:
    return Counter(w for w in tokens(nfc(text)) if has_diacritics(w))


def recall(truth: Counter[str], got: Counter[str]) -> float:
    total = sum(truth.values())
    return sum((truth & got).values()) / total if total else 1.0


def measure(source: Path, transcript: Path) -> dict:
    t0 = time.perf_counter()
    raw = read_file(source)
    seconds = time.perf_counter() - t0
    text = "\n".join(raw.pages)
    transcript_text = transcript.read_text(encoding="utf-8")
    truth = accented_words(transcript_text)
    # The transcripts keep some of the converter's own stray spaces ("kể t ừ khi"); scored a
    # second time with those re-joined by the same general rule, so a correct "từ" counts.
    repaired = accented_words(join_split_syllables(nfc(transcript_text), aggressive=True))
    got = accented_words(text)
    return {"file": source.name, "encoding": raw.encoding, "extractor": raw.extractor,
            "pages": len(raw.pages), "accented_words": sum(truth.values()),
            "recall": round(recall(truth, got), 4),
            "recall_casefold": round(recall(_fold_case(truth), _fold_case(got)), 4),
            "recall_repaired_truth": round(recall(repaired, got), 4),
            "seconds": round(seconds, 3), "top_missing": (repaired - got).most_common(8)}


def _fold_case(c: Counter[str]) -> Counter[str]:
    out: Counter[str] = Counter()
    for k, v in c.items():
        out[k.lower()] += v
    return out


def find_pairs(docs: Path) -> list[tuple[Path, Path]]:
    pairs = []
    for transcript in sorted((docs / "ground-truth").glob("*.txt")):
        for sub in ("pdf", "office", "text"):
            for src in sorted((docs / sub).glob(transcript.stem + ".*")):
                pairs.append((src, transcript))
    return pairs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=Path, default=DEFAULT_DOCS)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--min", type=float, default=0.99, help="exit 1 if any file is below this")
    args = ap.parse_args()
    pairs = find_pairs(args.docs)
    if not pairs:
        print(f"no ground-truth pairs under {args.docs}", file=sys.stderr)
        return 2
    rows = [measure(src, gt) for src, gt in pairs]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        print(f"{'file':48s} {'enc':7s} {'extractor':10s} {'words':>6s} {'recall':>7s} "
              f"{'casefold':>8s} {'repaired':>8s} {'s':>6s}")
        for r in rows:
            print(f"{r['file'][:48]:48s} {str(r['encoding']):7s} {r['extractor']:10s} {r['accented_words']:6d} "
                  f"{r['recall']:7.2%} {r['recall_casefold']:8.2%} {r['recall_repaired_truth']:8.2%} "
                  f"{r['seconds']:6.2f}")
            if r["recall_repaired_truth"] < 1:
                print("      missing:", ", ".join(f"{w}×{n}" for w, n in r["top_missing"]))
    return 0 if all(r["recall_repaired_truth"] >= args.min for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
