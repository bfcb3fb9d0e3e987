"""Eval history and the nightly report: one JSON line per run, a Markdown report, a trend plot.

JSON Lines keeps the history append-only, diff-able and readable without tools; a run appends a
complete record (time, commit, settings, metrics), so a crash mid-write loses at most that line.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from ..config import REPO_ROOT

HEADLINE = ["hit@1", "hit@5", "mrr", "answer_accuracy", "citation_accuracy",
            "refusal_precision", "refusal_recall"]
#: a drop larger than this against the previous run is a regression
REGRESSION_TOLERANCE = 0.005


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def read_history(path: Path) -> list[dict]:
    if not path.exists():
        return []
    runs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            runs.append(json.loads(line))
        except ValueError:
            continue  # a torn last line from a killed run is skipped, not fatal
    return runs


def append_run(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def make_record(metrics: dict, by_kind: dict, settings: dict, eval_set: str) -> dict:
    return {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "commit": git_commit(),
            "eval_set": eval_set, "settings": settings, "metrics": metrics, "by_kind": by_kind}


def regressions(previous: dict | None, current: dict) -> list[str]:
    """Headline scores that dropped against the previous run."""
    if not previous:
        return []
    out = []
    for key in HEADLINE:
        before, now = previous.get("metrics", {}).get(key), current["metrics"].get(key)
        if before is not None and now is not None and now < before - REGRESSION_TOLERANCE:
            out.append(f"{key}: {before} → {now}")
    return out


def sets_overview(root: Path) -> dict[str, dict]:
    """The latest run of every set under the history root: the seeds' history is the root's own
    `history.jsonl`, each other set has a folder (`viquad/`, `legal/`…), so the report shows
    them side by side."""
    out: dict[str, dict] = {}
    for name, path in [("seeds", root / "history.jsonl"),
                       *sorted((p.parent.name, p) for p in root.glob("*/history.jsonl"))]:
        runs = read_history(path)
        if runs:
            out[name] = runs[-1]
    return out


def overview_lines(overview: dict[str, dict]) -> list[str]:
    """A Markdown table: one column per set, one row per headline metric."""
    if not overview:
        return []
    names = list(overview)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    rows = ["n", *HEADLINE, "false_refusals", "latency_p50_ms"]
    for key in rows:
        lines.append(f"| {key} | " + " | ".join(str(overview[s]["metrics"].get(key, "–")) for s in names) + " |")
    lines.append("| run | " + " | ".join(f"{overview[s]['time'][:10]} {overview[s].get('commit') or '?'}"
                                          for s in names) + " |")
    return lines


def plot_trend(runs: list[dict], path: Path) -> Path:
    """PNG of the headline scores over the runs, regressions marked in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    xs = list(range(1, len(runs) + 1))
    for key in HEADLINE:
        ys = [r["metrics"].get(key) for r in runs]
        ax.plot(xs, ys, marker="o", label=key)
        for i in range(1, len(runs)):
            if ys[i] is not None and ys[i - 1] is not None and ys[i] < ys[i - 1] - REGRESSION_TOLERANCE:
                ax.plot(xs[i], ys[i], marker="v", color="red", markersize=11)
    ax.set_xticks(xs, [(r.get("commit") or "?")[:7] + "\n" + r["time"][5:10] for r in runs],
                  fontsize=7)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("score")
    ax.set_title("hoi-dap-cds eval trend (▼ = regression)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(runs: list[dict], failures: list[dict], out_dir: Path,
                 problems: list[str], overview: dict[str, dict] | None = None) -> Path:
    """Markdown report of the latest run with its trend plot; returns the report path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    current = runs[-1]
    previous = runs[-2] if len(runs) > 1 else None
    plot_trend(runs, out_dir / "trend.png")
    regs = regressions(previous, current)
    m = current["metrics"]
    lines = [
        f"# Eval report — {current['time']} (commit {current.get('commit') or '?'})", "",
        f"Set: `{current['eval_set']}` — {m['n']} questions "
        f"({m['n_answerable']} answerable, {m['n_unanswerable']} unanswerable)", "",
        "| metric | value | previous |", "|---|---|---|",
    ]
    prev_m = previous["metrics"] if previous else {}
    for key, value in m.items():
        if key.startswith("n"):
            continue
        mark = " ▼" if any(r.startswith(key + ":") for r in regs) else ""
        lines.append(f"| {key} | {value}{mark} | {prev_m.get(key, '–')} |")
    lines += ["", "![trend](trend.png)", ""]
    if overview:
        lines += ["## All sets (latest run of each)", "", *overview_lines(overview), ""]
    lines.append("## Regressions against the previous run")
    lines += [f"- {r}" for r in regs] or ["- none"]
    lines += ["", "## Below threshold"] + ([f"- {p}" for p in problems] or ["- none"])
    lines += ["", "## By kind", "", "| kind | n | answer accuracy / refused | hit@1 |", "|---|---|---|---|"]
    for kind, v in current.get("by_kind", {}).items():
        score = v.get("answer_accuracy", v.get("refused"))
        lines.append(f"| {kind} | {v['n']} | {score} | {v.get('hit@1', '–')} |")
    lines += ["", f"## Failures ({len(failures)})", ""]
    for f in failures:
        lines.append(f"- **{f['id']}** ({f['kind']}): {f['question']}  \n"
                     f"  expected: {f['expected']} ({f['expected_doc']}); got: {f['got'][:300]}"
                     f" (cited {f['cited_doc']}, evidence rank {f['evidence_rank']})")
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
