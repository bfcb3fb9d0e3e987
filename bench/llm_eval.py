"""The LLM answerer on eval/qa.jsonl: the same scores as `rag eval --answerer llm`, plus what the
grounding check did — the model's raw replies scored too, so the figures show how often the model
invented, how often the check caught it, and what the fallback cost.

Needs an OpenAI-compatible server (RAG_LLM_BASE_URL), e.g. the local Qwen2.5-Coder-1.5B
(README: "Chạy mô hình cục bộ"). About 10–20 s per question on 2 cores.

    python bench/llm_eval.py --out bench/results/llm_eval.json
    python bench/llm_eval.py --every 5            # a sample: every 5th item
    python bench/llm_eval.py --replay bench/results/llm_eval.progress.jsonl   # no model needed

Every answer is also written to <out>.progress.jsonl as it comes (question, raw reply, latency);
`--replay` grades those recorded replies again with the current grounding check — the model's
words are fixed, so a change to the check is measured in seconds, not an hour of generation.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from rag.answerers.llm import LLMAnswerer, clean_reply, is_refusal  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.evaluation import run as ev  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402


def reason_kind(reason: str) -> str:
    """'… ungrounded: “1.350” không có trong đoạn được trích [2] (…)' → '“…” không có trong đoạn được trích [n]'."""
    r = reason.split("ungrounded: ", 1)[-1]
    r = re.sub(r"“[^”]*”", "“…”", r)
    r = re.sub(r"\[\d+\]", "[n]", r)
    return re.sub(r"\d+", "N", r.split(" / ")[0].split(" (")[0])


class ReplayChat:
    """Stands in for the chat model: the replies a live run recorded, looked up by question; a
    question whose live call failed fails again (as a connection error)."""

    def __init__(self, path: Path) -> None:
        lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
        self.replies = {d["question"]: d["raw"] for d in lines}
        self.latency = {d["question"]: d.get("latency_s") for d in lines}

    def invoke(self, messages: list[tuple[str, str]]) -> str:
        question = re.search(r"Câu hỏi: (.*)", messages[-1][1]).group(1)
        reply = self.replies.get(question)
        if reply is None:
            raise ConnectionError("no reply was recorded for this question")
        return reply


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", type=Path, default=REPO_ROOT / "eval" / "qa.jsonl")
    ap.add_argument("--every", type=int, default=1, help="use every n-th item (a quicker sample)")
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--out", type=Path, help="write items and scores as JSON")
    ap.add_argument("--replay", type=Path, help="grade the replies recorded in this .progress.jsonl")
    args = ap.parse_args(argv)

    items = ev.load_items(args.set)[::args.every]
    pipe = Pipeline(load_settings(answerer="llm", show_progress=False))
    replay = ReplayChat(args.replay) if args.replay else None
    if replay:
        items = [it for it in items if it.question in replay.replies]
        pipe.answerer_for("llm").chat = replay
    last: dict[str, str | None] = {"reply": None}
    finish = LLMAnswerer.finish

    def recording_finish(self, info, hits, reply):  # the model's words, before the check
        last["reply"] = reply
        return finish(self, info, hits, reply)

    LLMAnswerer.finish = recording_finish
    answers = []  # (Answer, raw reply or None when the server failed, extractive Answer), in item order
    run = pipe.run

    live = args.out and not replay
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
    progress = args.out.with_suffix(".progress.jsonl").open("w", encoding="utf-8") if live else None

    def recording_run(question, k=None, flt=None, answerer=None):
        last["reply"] = None
        t0 = time.perf_counter()
        res = run(question, k, flt, answerer)
        answers.append((res.answer, last["reply"], run(question, k, flt, "extractive").answer))
        if progress:  # one line per item as it is answered: a long run cut short still tells
            a = res.answer
            progress.write(json.dumps({"question": question, "answerer": a.answerer, "found": a.found,
                                       "answer": a.answer, "reason": a.fallback_reason, "raw": last["reply"],
                                       "latency_s": round(time.perf_counter() - t0, 2)},
                                      ensure_ascii=False) + "\n")
            progress.flush()
        return res

    pipe.run = recording_run
    results = ev.run_eval(pipe, items, k=args.k)
    if replay:  # the live run's latencies, not the replay's
        for it, r in zip(items, results):
            r.latency = replay.latency.get(it.question) or r.latency
    by_id = {it.id: it for it in items}
    scores = ev.metrics(results, by_id)

    rows = []
    for it, r, (ans, raw, ext) in zip(items, results, answers):
        raw_text = clean_reply(raw) if raw is not None else None
        raw_refused = raw_text is not None and is_refusal(raw_text)
        rows.append({
            "id": it.id, "kind": it.kind, "answerable": it.answerable, "answerer": ans.answerer,
            "found": ans.found, "facts_ok": r.facts_ok, "latency_s": round(r.latency, 2),
            "raw_reply": raw_text, "raw_refused": raw_refused,
            "raw_facts_ok": bool(it.answerable and raw_text and not raw_refused
                                 and not ev.missing_facts(it.facts, raw_text)),
            "fallback_reason": ans.fallback_reason, "answer": ans.answer,
            "extractive_found": ext.found,
            "extractive_facts_ok": bool(it.answerable and ext.found and not ev.missing_facts(it.facts, ext.answer)),
        })
    una = [x for x in rows if not x["answerable"]]
    ans_rows = [x for x in rows if x["answerable"]]
    replied = [x for x in rows if x["raw_reply"] is not None]
    raw = {
        "server_errors": sum(x["raw_reply"] is None and x["answerer"] == "extractive-fallback" for x in rows),
        "raw_answer_accuracy": ev._ratio(sum(x["raw_facts_ok"] for x in ans_rows), len(ans_rows)),
        "raw_refusal_recall": ev._ratio(sum(x["raw_refused"] for x in una), len(una)),
        "raw_invented_on_unanswerable": sum(not x["raw_refused"] and x["raw_reply"] is not None for x in una),
        "invented_caught_by_check": sum(not x["raw_refused"] and x["raw_reply"] is not None
                                        and x["answerer"] == "extractive-fallback" for x in una),
        "kept_llm_answers": sum(x["answerer"] == "llm" and x["found"] for x in rows),
        "kept_llm_answers_correct": sum(x["answerer"] == "llm" and x["found"] and x["facts_ok"] for x in ans_rows),
        "correct_raw_rejected": sum(x["raw_facts_ok"] and x["answerer"] == "extractive-fallback" for x in ans_rows),
        "replies": len(replied),
        # the default answerer on the same items, for comparison
        "extractive_answer_accuracy": ev._ratio(sum(x["extractive_facts_ok"] for x in ans_rows), len(ans_rows)),
        "extractive_refusal_recall": ev._ratio(sum(not x["extractive_found"] for x in una), len(una)),
    }
    reasons = Counter(reason_kind(x["fallback_reason"]) for x in rows if x["fallback_reason"])
    report = {"metrics": scores, "grounding": raw, "fallback_reasons": dict(reasons.most_common()),
              "by_kind": ev.by_kind(results), "items": rows}
    print(json.dumps({k: report[k] for k in ("metrics", "grounding", "fallback_reasons")},
                     ensure_ascii=False, indent=1))
    if args.out:
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
