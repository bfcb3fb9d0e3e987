"""`rag eval`: score any set in the `eval/qa.jsonl` format against its own corpus.

Kept apart from `cli.py` so the scoring, history and per-corpus index logic read in one place.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import click

from ..config import REPO_ROOT, Settings, load_settings
from ..errors import InputError


def corpus_index_dir(settings: Settings, corpus: Path) -> Path:
    """Where the index of another corpus lives: one folder per corpus under the cache dir, named
    after the folder and a hash of its absolute path (two `corpus/` folders do not collide)."""
    path = corpus.resolve()
    digest = hashlib.sha1(str(path).encode("utf-8")).hexdigest()[:8]
    name = path.name if path.name != "corpus" else path.parent.name
    return Path(settings.cache_dir) / "indexes" / f"{name}-{digest}"


def eval_settings(ctx: click.Context, corpus: Path | None, answerer: str | None) -> Settings:
    """Settings for an eval run: with `corpus`, its own index (unless --index-dir or
    RAG_INDEX_DIR names one), built from that corpus on first use."""
    obj = dict(ctx.obj or {})
    settings = load_settings(**obj, answerer=answerer)
    if corpus is None:
        return settings
    given = obj.get("index_dir") is not None or settings.index_dir != Settings().index_dir  # flag or RAG_INDEX_DIR
    index_dir = settings.index_dir if given else corpus_index_dir(settings, corpus)
    return settings.with_overrides(corpus=corpus.resolve(), index_dir=index_dir)


def run_eval_command(ctx: click.Context, *, eval_set: Path | None, corpus: Path | None,
                     limit: int | None, sample: int | None, as_json: bool, out_dir: Path | None,
                     report: bool, thresholds: Path | None, fail_on_regression: bool, k: int,
                     answerer: str | None) -> None:
    from ..evaluation import history as hist
    from ..evaluation import run as ev
    from ..pipeline import Pipeline

    if limit is not None and sample is not None:
        raise InputError("Chỉ dùng một trong --limit và --sample / use either --limit or --sample")
    set_path = eval_set or REPO_ROOT / "eval" / "qa.jsonl"
    name = ev.set_name(set_path)
    all_items = ev.load_items(set_path)
    if not all_items:  # zeros in the history would read as a collapse of every score
        raise InputError(f"Bộ đánh giá trống / empty eval set: {set_path} (không ghi lịch sử / "
                         "nothing written to the history)")
    items = ev.select_items(all_items, limit=limit, sample=sample)
    partial = len(items) < len(all_items)
    pipe = Pipeline(eval_settings(ctx, corpus, answerer))
    pipe.ensure_index()
    pipe.expect_many_questions(wait=True)  # the runtime a long-running process answers with
    results = ev.run_eval(pipe, items, k=k)
    by_id = {it.id: it for it in items}
    scores = ev.metrics(results, by_id)
    kinds = ev.by_kind(results)
    fails = ev.failures(results, by_id)
    own = "thresholds.json" if name == "seeds" else f"thresholds-{name}.json"
    limits_path = thresholds or REPO_ROOT / "eval" / own
    limits = json.loads(limits_path.read_text(encoding="utf-8")) if limits_path.exists() else {}
    problems = ev.check_thresholds(scores, limits)
    root = Path(pipe.settings.eval_dir)
    out = out_dir or (root if name == "seeds" else root / name)
    if out_dir is None and pipe.settings.answerer != "extractive":
        out = out / pipe.settings.answerer  # its own history: an LLM run is no regression of the default
    regs: list[str] = []
    report_path = None
    if not partial:  # a quick run on part of a set is not a point of its history
        settings = {k_: str(v) for k_, v in asdict(pipe.settings).items()
                    if k_ not in {"corpus", "index_dir", "cache_dir", "show_progress", "llm_api_key",
                                  "feedback_db", "eval_dir", "store", "store_read"}}
        history_file = out / "history.jsonl"
        previous = (hist.read_history(history_file) or [None])[-1]
        record = hist.make_record(scores, kinds, settings, str(set_path))
        hist.append_run(history_file, record)
        regs = hist.regressions(previous, record)
        if report:
            report_path = hist.write_report(hist.read_history(history_file), fails, out, problems,
                                            hist.sets_overview(root))
    if as_json:
        click.echo(json.dumps({"set": name, "metrics": scores, "by_kind": kinds, "failures": fails,
                               "below_threshold": problems, "regressions": regs},
                              ensure_ascii=False, indent=1))
    else:
        note = f", {len(items)}/{len(all_items)} câu, không ghi lịch sử / not recorded" if partial else ""
        click.echo(f"Bộ đánh giá: {set_path} [{name}] ({scores['n']} câu{note})")
        for key, value in scores.items():
            click.echo(f"  {key:20s} {value}")
        click.echo("\nTheo loại / by kind:")
        for kind, v in kinds.items():
            click.echo(f"  {kind:14s} " + ", ".join(f"{a}={b}" for a, b in v.items()))
        click.echo(f"\nSai / failures ({len(fails)}):")
        for f in fails[:200]:
            click.echo(f"  [{f['id']}] {f['question']}\n      expected {f['expected']} | got {f['got'][:160]}")
        if regs:
            click.echo("\nGiảm so với lần trước / regressions: " + "; ".join(regs))
        if report_path:
            click.echo(f"\nBáo cáo / report: {report_path}")
    if problems:
        click.echo("Dưới ngưỡng / below threshold: " + "; ".join(problems), err=True)
        ctx.exit(2)
    if regs and fail_on_regression:
        ctx.exit(3)
