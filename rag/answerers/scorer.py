"""The fitted answer scorer: a model over candidate features, loaded from a small JSON.

The weights are not chosen by hand: `scripts/fit_answer_scorer.py` fits them on the outside
development sets (UIT-ViQuAD 2.0 and ALQAC samples in ../shared/devsets, split by document) and
writes `scorer_weights.json` with its data provenance, metrics and the refusal threshold. The
candidate model is gradient-boosted trees (scikit-learn's HistGradientBoostingClassifier,
exported node by node) or a logistic model; the answerability model is logistic. Here only numpy
runs, so no scikit-learn import on the query path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..config import PACKAGED_MODEL
from ..errors import IndexStateError
from .features import FEATURES, N_OWN

WEIGHTS_PATH = Path(__file__).with_name("scorer_weights.json")
FORMAT_VERSION = 2
#: the embedder whose question-passage cosines the weights were fit on (the packaged e5)
COSINE_MODEL = PACKAGED_MODEL


@dataclass(frozen=True)
class LogisticModel:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        z = ((np.atleast_2d(x) - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    @classmethod
    def from_dict(cls, d: dict) -> LogisticModel:
        return cls(tuple(d["features"]), np.asarray(d["mean"], float), np.asarray(d["scale"], float),
                   np.asarray(d["coef"], float), float(d["intercept"]))

    def to_dict(self) -> dict:
        return {"features": list(self.features), "mean": self.mean.round(6).tolist(),
                "scale": self.scale.round(6).tolist(), "coef": self.coef.round(6).tolist(),
                "intercept": round(self.intercept, 6)}


@dataclass(frozen=True)
class TreeEnsemble:
    """Boosted regression trees on the log-odds scale: `baseline` plus one leaf value per tree.
    Nodes are padded to one width so all trees descend together, one numpy step per level."""

    features: tuple[str, ...]
    baseline: float
    feature: np.ndarray  # (trees, nodes) feature index of each split
    threshold: np.ndarray  # go left when x <= threshold
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray  # leaf values (learning rate applied)
    leaf: np.ndarray  # bool
    depth: int

    def decision(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(x)
        trees = np.arange(len(self.feature))[:, None]
        node = np.zeros((len(self.feature), len(x)), dtype=np.int64)
        rows = np.arange(len(x))[None, :]
        for _ in range(self.depth):
            split = ~self.leaf[trees, node]
            if not split.any():
                break
            goes_left = x[rows, self.feature[trees, node]] <= self.threshold[trees, node]
            node = np.where(split, np.where(goes_left, self.left[trees, node], self.right[trees, node]), node)
        return self.baseline + self.value[trees, node].sum(axis=0)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.decision(x)))

    @classmethod
    def from_dict(cls, d: dict) -> TreeEnsemble:
        trees = d["trees"]
        width = max(len(t["feature"]) for t in trees)

        def table(key: str, dtype: type) -> np.ndarray:
            return np.array([t[key] + [0] * (width - len(t[key])) for t in trees], dtype=dtype)

        return cls(tuple(d["features"]), float(d["baseline"]), table("feature", np.int64),
                   table("threshold", float), table("left", np.int64), table("right", np.int64),
                   table("value", float), table("leaf", bool), int(d["depth"]))


def load_model(d: dict) -> LogisticModel | TreeEnsemble:
    return TreeEnsemble.from_dict(d) if d.get("kind") == "trees" else LogisticModel.from_dict(d)


@dataclass(frozen=True)
class LexicalModels:
    """The same two models fitted on the features without question–sentence similarity
    (`FEATURES[:N_OWN]`), for an answerer whose embedder is not the one the scorer was fit on."""

    candidate: LogisticModel
    answerable: LogisticModel
    threshold: float

    @classmethod
    def from_dict(cls, d: dict) -> LexicalModels:
        cand = LogisticModel.from_dict(d["candidate"])
        if cand.features != FEATURES[:N_OWN]:
            raise ValueError("lexical features differ from rag/answerers/features.py: refit")
        if LogisticModel.from_dict(d["answerable"]).features != ANSWERABLE_LEXICAL:
            raise ValueError("lexical answerability features differ: refit")
        return cls(cand, LogisticModel.from_dict(d["answerable"]), float(d["threshold"]))


@dataclass(frozen=True)
class AnswerScorer:
    """`candidate` ranks the sentences of the top passages; `answerable` turns the best
    candidate's question-level features into the probability that the passages answer at all,
    refused below `threshold` (chosen on dev data: ≤ 5 % of answerable questions declined)."""

    candidate: LogisticModel | TreeEnsemble
    answerable: LogisticModel
    threshold: float
    provenance: dict
    gates: dict[str, float]  # feature → the value a candidate must have (rules kept: see fit script)
    # kinds refused when no candidate at all holds a value of the kind ("bao nhiêu tập thể?" over
    # passages whose only numbers are dates); choosing among candidates is left to the model
    refuse_without_value: frozenset[str] = frozenset()
    # the fit data's median of a feature, for a source that cannot give it (see `cosines`)
    typical: dict[str, float] = field(default_factory=dict)
    lexical: LexicalModels | None = None

    @property
    def typical_sim(self) -> float:
        return self.typical.get("sim", 0.85)

    def allowed(self, x: np.ndarray) -> np.ndarray:
        """Which candidates pass the kept rules (a place the question names must be in the passage…)."""
        ok = np.ones(len(x), dtype=bool)
        for name, want in self.gates.items():
            ok &= x[:, FEATURES.index(name)] == want
        return ok

    @classmethod
    def load(cls, path: Path = WEIGHTS_PATH) -> AnswerScorer:
        try:
            d = json.loads(Path(path).read_text(encoding="utf-8"))
            if d.get("format") != FORMAT_VERSION:
                raise ValueError(f"format {d.get('format')} != {FORMAT_VERSION}")
            if d.get("cosine_model") != COSINE_MODEL:
                raise ValueError(f"fit on cosines of {d.get('cosine_model')}, not {COSINE_MODEL}")
            cand = load_model(d["candidate"])
            if cand.features != FEATURES:
                raise ValueError("features differ from rag/answerers/features.py: refit")
            gates = {str(k): float(v) for k, v in d.get("gates", {}).items()}
            if any(g not in FEATURES for g in gates):
                raise ValueError(f"unknown gate in {sorted(gates)}")
            return cls(cand, LogisticModel.from_dict(d["answerable"]), float(d["threshold"]),
                       d.get("provenance", {}), gates, frozenset(d.get("refuse_without_value", [])),
                       {str(k): float(v) for k, v in d.get("typical", {}).items()},
                       LexicalModels.from_dict(d["lexical"]) if "lexical" in d else None)
        except (OSError, ValueError, KeyError) as e:
            raise IndexStateError(f"Trọng số bộ chấm câu trả lời hỏng / answer scorer weights unusable "
                                  f"({path}): {e}; python scripts/fit_answer_scorer.py") from None


@lru_cache(maxsize=4)
def default_scorer(path: Path = WEIGHTS_PATH) -> AnswerScorer:
    return AnswerScorer.load(path)


#: question-level features of the answerability model, computed from the ranked candidates
ANSWERABLE_FEATURES = ("best", "margin", "best_cov", "best_ctx_cov", "best_passage_cov", "entity_in_passage",
                       "entity_in_cand", "top_cosine", "has_value", "english", "best_sim", "top_sim",
                       "numbers_ok")
#: … of the lexical models: the few the answerability model had before similarities existed (with
#: the richer set above, fitted without similarities, it declined far less off-topic questions)
ANSWERABLE_LEXICAL = ("best", "margin", "best_cov", "best_passage_cov", "entity_in_passage", "top_cosine",
                      "has_value", "english")


def answerable_features(probs: np.ndarray, best_x: np.ndarray, top_cosine: float,
                        names: tuple[str, ...] = ANSWERABLE_FEATURES) -> list[float]:
    """From the candidates' probabilities and the best one's features, in the order of `names`
    (`best_x` may lack the similarity columns: the lexical models do not use them)."""
    order = np.sort(probs)[::-1]
    x = dict(zip(FEATURES, best_x.tolist()))
    values = {"best": float(order[0]), "margin": float(order[0] - (order[1] if len(order) > 1 else 0.0)),
              "best_cov": x["cov"], "best_ctx_cov": x["ctx_cov"], "best_passage_cov": x["passage_cov"],
              "entity_in_passage": x["entity_in_passage"], "entity_in_cand": x["entity_in_cand"],
              "top_cosine": top_cosine, "has_value": x["has_value"], "english": x["english"],
              "best_sim": x.get("sim", 0.0), "top_sim": x.get("sim", 0.0) + x.get("sim_gap", 0.0),
              "numbers_ok": x.get("numbers_ok", 1.0)}
    return [float(values[n]) for n in names]
