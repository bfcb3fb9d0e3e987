"""Fit the extractive answerer's scorer and refusal threshold on the outside development sets.

    python scripts/fit_answer_scorer.py [--devsets ../shared/devsets] [--index-root DIR] [--dry-run]

For each set (viquad, legal) every question is retrieved as `rag ask` does (top `answer_pool`
passages of the set's own index), every candidate unit of those passages gets its features
(rag/answerers/features.py, the same code the answerer runs) and the label "quoting this unit
gives the gold span". Each set is split by document (seed 0, 70 % fit / 30 % held out; an
unanswerable question goes with the article of the answerable question before it), so a held-out
figure is on articles the weights never saw. Fitted with scikit-learn:

1. the candidate model on the fit part's candidates of answerable questions: gradient-boosted
   trees (HistGradientBoostingClassifier; `--candidate-model logistic` for LogisticRegression),
   exported node by node so answering needs numpy only;
2. the answerability model (LogisticRegression; question level: the best candidate's probability
   and margin, its coverage, similarity, entity match, retrieval cosine) on answerable vs
   unanswerable fit questions. The candidate probabilities it learns from are out-of-fold (5 folds
   by document inside the fit part): on its own training rows the tree model is overconfident;
3. the refusal threshold: the highest value that declines at most `--max-declined` (4 %, below the
   5 % target for margin) of the answerable fit questions of every set (out-of-fold as well).

The similarity features need the unit vectors of each set's index (`rag index` writes them; an
older index gets them embedded on the fly, which is slower).

Writes rag/answerers/scorer_weights.json (format, features, coefficients, threshold, provenance,
fit and held-out metrics). Never fits on eval/qa.jsonl (our own check). Deterministic.
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.answerers.extractive import _PREFER_VALUE as PREFER_VALUE  # noqa: E402
from rag.answerers.extractive import ExtractiveAnswerer, _with_antecedent  # noqa: E402
from rag.answerers.features import FEATURES, N_OWN  # noqa: E402
from rag.answerers.scorer import (  # noqa: E402
    ANSWERABLE_FEATURES,
    ANSWERABLE_LEXICAL,
    COSINE_MODEL,
    FORMAT_VERSION,
    WEIGHTS_PATH,
    LogisticModel,
    TreeEnsemble,
    answerable_features,
)
from rag.app.cli_eval import corpus_index_dir  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.evaluation.run import EvalItem, load_items, missing_facts  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.search.query import answer_type  # noqa: E402
from rag.types import Hit  # noqa: E402

SETS = ("viquad", "legal")
SEED = 0
FIT_SHARE = 0.7
FOLDS = 5


def doc_groups(items: list[EvalItem]) -> dict[str, str]:
    """Item id → the document it belongs to (unanswerable: the previous answerable's)."""
    out, last = {}, "?"
    for it in sorted(items, key=lambda i: i.id):
        last = it.doc or last
        out[it.id] = last
    return out


def split(items: list[EvalItem]) -> tuple[set[str], set[str]]:
    groups = doc_groups(items)
    docs = sorted(set(groups.values()))
    random.Random(SEED).shuffle(docs)
    fit_docs = set(docs[:round(FIT_SHARE * len(docs))])
    fit = {i for i, d in groups.items() if d in fit_docs}
    return fit, set(groups) - fit


def retrieve(pipe: Pipeline, items: list[EvalItem], cache: Path) -> dict[str, tuple]:
    """(info, hits) per item; hits cached by chunk index so refits need no model."""
    index = pipe.ensure_index()
    key = f"{index.path.name}-{pipe.settings.answer_pool}"
    if cache.exists():
        stored = pickle.loads(cache.read_bytes())
        if stored.get("key") == key:
            return {i: (info, [Hit(index.chunks[c], s, dr, br, cos) for c, s, dr, br, cos in hits])
                    for i, (info, hits) in stored["rows"].items()}
    pipe.expect_many_questions(wait=True)
    ids = index.chunk_ids()
    rows, out = {}, {}
    t0 = time.time()
    for n, it in enumerate(items, 1):
        r = pipe.search(it.question, pipe.settings.answer_pool)
        out[it.id] = (r.info, r.hits)
        rows[it.id] = (r.info, [(ids[h.chunk.chunk_id], h.score, h.dense_rank, h.bm25_rank, h.cosine)
                                for h in r.hits])
        if n % 200 == 0:
            print(f"  {n}/{len(items)} retrieved ({time.time() - t0:.0f} s)", file=sys.stderr)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps({"key": key, "rows": rows}))
    return out


def candidate_table(answerer: ExtractiveAnswerer, items: list[EvalItem], retrieved: dict) -> list[dict]:
    """Per item: features of every candidate and whether quoting it gives the gold facts."""
    table = []
    for it in items:
        info, hits = retrieved[it.id]
        if not hits:
            table.append({"item": it, "x": np.zeros((0, len(FEATURES))), "y": np.zeros(0), "top_cos": 0.0})
            continue
        spans, x = answerer.candidates(info, hits)
        y = np.zeros(len(spans))
        if it.answerable:
            for j, (hi, s, e) in enumerate(spans):
                text = hits[hi].chunk.text
                y[j] = not missing_facts(it.facts, text[_with_antecedent(text, s):e])
        top_cos = max(answerer.cosines(hits))
        table.append({"item": it, "x": x, "y": y, "top_cos": top_cos})
    return table


def cached_table(answerer: ExtractiveAnswerer, items: list[EvalItem], retrieved: dict, path: Path,
                 version: str) -> list[dict]:
    """`candidate_table`, kept while the index version and the feature code are the same
    (the similarity features embed the units of an index that lacks them: minutes)."""
    import hashlib

    code = b"".join((ROOT / "rag" / f).read_bytes() for f in
                    ("answerers/features.py", "answerers/extractive.py", "search/kinds.py", "search/units.py"))
    key = f"{version}-{hashlib.sha1(code).hexdigest()}-warm"
    if path.exists():
        stored = pickle.loads(path.read_bytes())
        if stored.get("key") == key:
            return [{**row, "item": it} for row, it in zip(stored["rows"], items)]
    table = candidate_table(answerer, items, retrieved)
    path.write_bytes(pickle.dumps({"key": key, "rows": [{k: v for k, v in r.items() if k != "item"} for r in table]}))
    return table


def fit_logistic(x: np.ndarray, y: np.ndarray, names: tuple[str, ...], c: float,
                 balanced: bool = False) -> LogisticModel:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    lr = LogisticRegression(C=c, max_iter=2000, class_weight="balanced" if balanced else None)
    lr.fit((x - scaler.mean_) / scale, y)
    return LogisticModel(names, scaler.mean_, scale, lr.coef_[0], float(lr.intercept_[0]))


def fit_trees(x: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> tuple[TreeEnsemble, dict]:
    """Boosted trees, exported as plain node tables (and checked against scikit-learn's own
    predictions, so the export cannot silently drift from what was fitted)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(learning_rate=0.05, max_iter=200, max_leaf_nodes=15,
                                           l2_regularization=1.0, random_state=SEED,
                                           monotonic_cst=[MONOTONIC.get(f, 0) for f in names]).fit(x, y)
    trees = []
    for (predictor,) in model._predictors:
        nodes = predictor.nodes
        trees.append({"feature": nodes["feature_idx"].astype(int).tolist(),
                      "threshold": [float(t) for t in nodes["num_threshold"]],  # exact: x <= t
                      "left": nodes["left"].astype(int).tolist(), "right": nodes["right"].astype(int).tolist(),
                      "value": [round(float(v), 6) for v in nodes["value"]],
                      "leaf": nodes["is_leaf"].astype(int).tolist()})
    depth = int(max(p[0].nodes["depth"].max() for p in model._predictors)) + 1
    d = {"kind": "trees", "features": list(names), "baseline": float(np.ravel(model._baseline_prediction)[0]),
         "depth": depth, "trees": trees}
    ours = TreeEnsemble.from_dict(d)
    sample = x[:: max(1, len(x) // 5000)]
    gap = float(np.abs(ours.decision(sample) - model.decision_function(sample)).max())
    if gap > 1e-3:
        raise SystemExit(f"tree export differs from scikit-learn by {gap}")
    return ours, d


#: the direction the tree model may move with a feature, all else equal: more of the question
#: covered, a more similar sentence, a better-ranked passage never counts against a candidate. The
#: dev sets are Wikipedia and law articles; this keeps the model from learning their quirks in ways
#: that reverse on other documents (decision tables in tests/test_e2e_realdocs.py).
MONOTONIC = {f: 1 for f in ("cov", "ctx_cov", "passage_cov", "rank_inv", "fused", "cosine", "has_value",
                            "counted_ok", "role_ok", "constraints_ok", "entity_in_passage", "entity_in_cand",
                            "sim", "sim_best", "numbers_ok")}
MONOTONIC.update({f: -1 for f in ("cosine_gap", "missing_value", "restates", "other_province", "sim_gap",
                                  "sim_passage_gap", "cov_gap")})

REFUSE_WITHOUT_VALUE: set[str] = set()  # set from --refuse-without-value
GATES = {"constraints_ok": 1.0, "role_ok": 1.0, "counted_ok": 1.0, "missing_value": 0.0, "other_province": 0.0}
#: the rules that help on every set (the "gate" lines the script prints measure each on its own)
DEFAULT_GATES = ("constraints_ok", "role_ok")


def allowed(x: np.ndarray, gates: dict[str, float]) -> np.ndarray:
    ok = np.ones(len(x), dtype=bool)
    for name, want in gates.items():
        ok &= x[:, FEATURES.index(name)] == want
    return ok


def question_rows(model, rows: list[dict], gates: dict[str, float],
                  names: tuple[str, ...] = ANSWERABLE_FEATURES
                  ) -> tuple[np.ndarray, list[bool], list[bool], list[bool]]:
    """Answerability features, whether answerable, whether the top candidate is right, whether
    any candidate passed the gates. `model` is the candidate model, or a function of the row
    giving one (out-of-fold)."""
    feats, answerable, right, passed = [], [], [], []
    has_value = FEATURES.index("has_value")
    for r in rows:
        ok = allowed(r["x"], gates) if len(r["x"]) else np.zeros(0, bool)
        kind = answer_type(r["item"].question)
        if kind in REFUSE_WITHOUT_VALUE and not r["x"][ok, has_value].any():
            ok[:] = False
        if kind in PREFER_VALUE and len(r["x"]):  # as the answerer does (rag/answerers/extractive.py)
            typed = ok & (r["x"][:, has_value] == 1)
            ok = typed if typed.any() else ok
        passed.append(bool(ok.any()))
        if not ok.any():
            feats.append([0.0] * len(names))
            right.append(False)
        else:
            m = model(r) if callable(model) and not hasattr(model, "probabilities") else model
            p = np.where(ok, m.probabilities(r["x"]), 0.0)
            b = int(np.argmax(p))
            feats.append(answerable_features(p, r["x"][b], r["top_cos"], names))
            right.append(bool(r["y"][b]))
        answerable.append(r["item"].answerable)
    return np.asarray(feats), answerable, right, passed


def scores(cand, ans: LogisticModel, threshold: float, rows: list[dict],
           gates: dict[str, float]) -> dict:
    feats, answerable, right, passed = question_rows(cand, rows, gates, ans.features)
    keep = (ans.probabilities(feats) >= threshold) & np.asarray(passed) if len(feats) else np.zeros(0, bool)
    n_ans = sum(answerable)
    n_una = len(rows) - n_ans
    return {
        "n": len(rows), "answerable": n_ans,
        "any_candidate_right": round(sum(bool(r["y"].any()) for r in rows if r["item"].answerable) / max(1, n_ans), 4),
        "top_candidate_right": round(sum(r for r, a in zip(right, answerable) if a) / max(1, n_ans), 4),
        "answer_accuracy": round(sum(r and k for r, k, a in zip(right, keep, answerable) if a) / max(1, n_ans), 4),
        "answerable_declined": round(sum(not k for k, a in zip(keep, answerable) if a) / max(1, n_ans), 4),
        "unanswerable_declined": round(sum(not k for k, a in zip(keep, answerable) if not a) / n_una, 4)
        if n_una else None,
    }


def fit_answerable(cand, tables: dict, gates: dict[str, float], args: argparse.Namespace,
                   names: tuple[str, ...] = ANSWERABLE_FEATURES) -> tuple[LogisticModel, float]:
    """The answerability model and the highest threshold that declines at most `max_declined` of
    each set's answerable fit questions (those no candidate passed the gates count as declined).
    `cand` gives each fit row its out-of-fold candidate model."""
    fit_rows = [r for t in tables.values() for r in t["fit"]]
    qx, qa, _, _ = question_rows(cand, fit_rows, gates, names)
    ans = fit_logistic(qx, np.asarray(qa, float), names, args.C, balanced=True)
    threshold = 1.0
    for t in tables.values():
        fx, fa, _, passed = question_rows(cand, t["fit"], gates, names)
        mask = np.asarray(fa)
        p = np.where(np.asarray(passed), ans.probabilities(fx), -1.0)[mask]
        budget = int(np.floor(args.max_declined * mask.sum())) - int((p < 0).sum())
        p = np.sort(p[p >= 0])
        threshold = min(threshold, float(p[max(0, budget)]) - 1e-6 if budget >= 0 and len(p) else 0.0)
    return ans, max(threshold, 0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devsets", type=Path, default=ROOT.parent / "shared" / "devsets")
    ap.add_argument("--index-root", type=Path, help="folder with one index per set (<root>/viquad …)")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "hoi-dap-cds" / "fit")
    ap.add_argument("--max-declined", type=float, default=0.04)
    ap.add_argument("-C", type=float, default=1.0)
    ap.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    ap.add_argument("--gates", nargs="*", default=list(DEFAULT_GATES), choices=list(GATES),
                    help="rules kept as hard filters on candidates")
    ap.add_argument("--refuse-without-value", nargs="*", default=[],
                    help="question kinds refused when no candidate holds a value of the kind")
    ap.add_argument("--candidate-model", choices=("trees", "logistic"), default="trees")
    ap.add_argument("--dry-run", action="store_true", help="print the metrics, do not write the weights")
    args = ap.parse_args()

    tables: dict[str, dict[str, list[dict]]] = {}
    for name in args.sets:
        corpus = args.devsets / name / "corpus"
        base = load_settings(show_progress=True)
        index_dir = args.index_root / name if args.index_root else corpus_index_dir(base, corpus)
        pipe = Pipeline(base.with_overrides(corpus=corpus, index_dir=index_dir))
        items = load_items(args.devsets / name / "qa.jsonl")
        print(f"{name}: {len(items)} questions, index {index_dir}", file=sys.stderr)
        retrieved = retrieve(pipe, items, args.cache / f"{name}.pkl")
        # question vectors from the runtime `rag eval`, the UI and the API answer with (the warm
        # one): the similarity features shift a little between query runtimes
        pipe.expect_many_questions(wait=True)
        index = pipe.ensure_index()
        if index.meta.model_id != COSINE_MODEL:
            sys.exit(f"{index_dir} was built with {index.meta.model_id}, not {COSINE_MODEL}")
        answerer = pipe.answerer_for("extractive")  # the one `rag ask` answers with on this index
        assert isinstance(answerer, ExtractiveAnswerer)
        fit_ids, _ = split(items)
        table = cached_table(answerer, items, retrieved, args.cache / f"{name}-table.pkl", index.path.name)
        tables[name] = {"fit": [r for r in table if r["item"].id in fit_ids],
                        "held_out": [r for r in table if r["item"].id not in fit_ids]}

    fit_rows = [r for t in tables.values() for r in t["fit"]]

    def fit_candidates(rows: list[dict]):
        rows = [r for r in rows if r["item"].answerable and len(r["x"])]
        x, y = np.vstack([r["x"] for r in rows]), np.concatenate([r["y"] for r in rows])
        if args.candidate_model == "logistic":
            m = fit_logistic(x, y, FEATURES, args.C)
            return m, m.to_dict(), len(y), int(y.sum())
        m, d = fit_trees(x, y, FEATURES)
        return m, d, len(y), int(y.sum())

    cand, cand_dict, n_rows, n_pos = fit_candidates(fit_rows)
    groups: dict[str, str] = {}  # fit item → its document, for the out-of-fold folds
    for name, t in tables.items():
        groups.update({i: f"{name}/{d}" for i, d in doc_groups([r["item"] for r in t["fit"]]).items()})
    docs = sorted(set(groups.values()))
    random.Random(SEED).shuffle(docs)
    fold = {d: i % FOLDS for i, d in enumerate(docs)}
    models = [fit_candidates([r for r in fit_rows if fold[groups[r["item"].id]] != k])[0] for k in range(FOLDS)]

    def oof(r: dict):
        """The candidate model that did not see this row's document; the full model otherwise."""
        g = groups.get(r["item"].id)
        return models[fold[g]] if g is not None else cand

    gates = {g: GATES[g] for g in args.gates}
    REFUSE_WITHOUT_VALUE.update(args.refuse_without_value)
    for name in ["(none)", *GATES]:  # what each rule does on its own, measured on the fit part
        g = {} if name == "(none)" else {name: GATES[name]}
        print(f"gate {name:15s}", {s_: scores(oof, *fit_answerable(oof, tables, g, args), t["fit"], g)
                                    ["answer_accuracy"] for s_, t in tables.items()}, file=sys.stderr)
    ans, threshold = fit_answerable(oof, tables, gates, args)
    # fit part: out-of-fold (what the held-out part would see); held out: the full model
    metrics = {name: {part: scores(oof, ans, threshold, rows, gates) for part, rows in t.items()}
               for name, t in tables.items()}
    print(json.dumps({"threshold": round(threshold, 4), "gates": gates, "metrics": metrics}, indent=1))
    # the lexical models: the same fit on the columns a source without similarities has
    lex_tables = {name: {part: [{**r, "x": r["x"][:, :N_OWN]} for r in rows] for part, rows in t.items()}
                  for name, t in tables.items()}
    lex_rows = [r for t in lex_tables.values() for r in t["fit"] if r["item"].answerable and len(r["x"])]
    lex_cand = fit_logistic(np.vstack([r["x"] for r in lex_rows]), np.concatenate([r["y"] for r in lex_rows]),
                            FEATURES[:N_OWN], args.C)
    lex_ans, lex_threshold = fit_answerable(lex_cand, lex_tables, gates, args, ANSWERABLE_LEXICAL)
    lex_metrics = {name: {part: scores(lex_cand, lex_ans, lex_threshold, rows, gates) for part, rows in t.items()}
                   for name, t in lex_tables.items()}
    print("lexical:", json.dumps(lex_metrics), file=sys.stderr)
    # what a source without cosines stands in with: a typical passage's cosine (not the best
    # passage's: every passage would look like the one that answers) and a typical best unit's
    fit_x = np.vstack([r["x"] for t in tables.values() for r in t["fit"] if len(r["x"])])
    tops = np.array([r["x"][:, FEATURES.index("sim")].max() for t in tables.values() for r in t["fit"] if len(r["x"])])
    typical = {"cosine": round(float(np.median(fit_x[:, FEATURES.index("cosine")])), 6),
               "sim": round(float(np.median(tops)), 6)}
    if args.dry_run:
        return
    out = {
        "format": FORMAT_VERSION,
        "provenance": {
            "script": "scripts/fit_answer_scorer.py",
            "fitted": time.strftime("%Y-%m-%d", time.gmtime()),
            "data": "../shared/devsets: UIT-ViQuAD 2.0 sample (viquad/qa.jsonl) and ALQAC 2024 short answers "
                    "(legal/qa.jsonl); never eval/qa.jsonl",
            "split": f"by document, seed {SEED}, {FIT_SHARE:.0%} fit; metrics below on both parts",
            "candidate_rows": n_rows, "candidate_positives": n_pos, "candidate_model": args.candidate_model,
            "max_declined": args.max_declined, "C": args.C,
        },
        "metrics": metrics,
        "threshold": round(threshold, 6),
        "gates": gates,
        "refuse_without_value": args.refuse_without_value,
        "cosine_model": COSINE_MODEL,
        "typical": typical,
        "candidate": cand_dict,
        "lexical": {"candidate": lex_cand.to_dict(), "answerable": lex_ans.to_dict(),
                    "threshold": round(lex_threshold, 6), "metrics": lex_metrics},
        "answerable": ans.to_dict(),
    }
    WEIGHTS_PATH.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {WEIGHTS_PATH}", file=sys.stderr)


if __name__ == "__main__":
    main()
