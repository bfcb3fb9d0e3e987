"""End to end on a 200-question slice of each outside development set (issue #12).

`rag eval --set … --corpus … --sample 200 --json` with the real model, as a user runs it. The
slices are drawn with the eval command's fixed seed, so they mix the documents the scorer was fit
on with held-out ones. Skipped without ../shared/devsets (it is never committed). The index of a
set is built on first use (12–13 min each on 2 cores, plus ~5 min of sentence vectors);
`DEVSETS_INDEX_ROOT=<dir>` reuses indexes already built at <dir>/viquad and <dir>/legal.

The floors are the figures measured when the scorer was fitted minus a margin of 0.03: they guard
against regressions. They are below the issue's targets (viquad/legal answer ≥ 0.75, viquad
unanswerable declined ≥ 0.50), which this scorer does not reach yet (see README).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.app.cli import main

DEVSETS = Path(__file__).resolve().parents[1].parent / "shared" / "devsets"
MARGIN = 0.03

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not DEVSETS.is_dir(), reason="../shared/devsets not available")]

# set → (qa file, metric floors before the margin)
FLOORS = {
    # measured 2026-11-30 (unit similarity + monotone boosted trees): whole sets viquad answer
    # 0.716, unanswerable declined 0.104, answerable declined 0.036; this 200-question slice 0.693,
    # 0.082, 0.047; legal answer 0.714, none declined; legal retrieval hit@5 0.965
    "viquad": ("qa.jsonl", {"answer_accuracy": 0.69, "refusal_recall": 0.08, "max_false_refusal_share": 0.05}),
    "legal": ("qa.jsonl", {"answer_accuracy": 0.71, "max_false_refusal_share": 0.05}),
    "legal-retrieval": ("retrieval.jsonl", {"hit@5": 0.95}),
}


def _eval(name: str, qa: str, tmp_path: Path) -> dict:
    folder = DEVSETS / name.split("-")[0]
    args = ["-q"]
    root = os.environ.get("DEVSETS_INDEX_ROOT")
    if root:
        args += ["--index-dir", str(Path(root) / folder.name)]
    args += ["eval", "--set", str(folder / qa), "--corpus", str(folder / "corpus"), "--sample", "200",
             "--json", "--out", str(tmp_path)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    return json.loads(res.output)["metrics"]


@pytest.mark.parametrize("name", list(FLOORS))
def test_devset_slice_meets_its_floor(name: str, tmp_path: Path) -> None:
    qa, floors = FLOORS[name]
    m = _eval(name, qa, tmp_path)
    for key, floor in floors.items():
        if key == "max_false_refusal_share":
            assert m["false_refusals"] / max(1, m["n_answerable"]) <= floor + MARGIN, m
        else:
            assert m[key] >= floor - MARGIN, (key, m)
