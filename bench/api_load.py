"""Load on `rag serve`: N concurrent clients on loopback, throughput and p50/p95 latency.

Starts the real server (`python -m rag serve`, packaged model, seeds/ indexed into a temporary
folder unless --index-dir is given) on a free 127.0.0.1 port, waits for /healthz, then for each
concurrency level sends a fixed number of `POST /api/ask` requests (the questions of
eval/qa.jsonl in turn) from that many client threads, and stops the server. Every reply is checked
to answer the question that was sent (`question` echoes it), so a mix-up under load is an error,
not a figure. Bounded: `--requests` per level, a timeout per request, the server killed at the end.

    python bench/api_load.py                           # levels 1,4,16,50; 200 requests each
    python bench/api_load.py --levels 1,8 --requests 100 --out /tmp/api_load.json
    python bench/api_load.py --endpoint /v1/chat/completions

Markdown on stdout, progress on stderr; `--out` also keeps every latency sample.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import REPO_ROOT, code_version, load_probe, machine_info, markdown_table, percentiles_ms, write_json


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(index_dir: Path, port: int, workers: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_INDEX_DIR=str(index_dir), PYTHONPATH=str(REPO_ROOT))
    cmd = [sys.executable, "-m", "rag", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers)]
    return subprocess.Popen(cmd, env=env, cwd=REPO_ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_ready(url: str, proc: subprocess.Popen, timeout: float) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"error: rag serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"error: rag serve not healthy after {timeout:.0f} s")


def body_for(endpoint: str, question: str) -> dict:
    if endpoint == "/api/ask":
        return {"question": question}
    return {"model": "hoi-dap-cds", "messages": [{"role": "user", "content": question}]}


def asked(endpoint: str, reply: dict) -> str:
    return reply["question"]  # both endpoints echo the question they searched with


def run_level(url: str, endpoint: str, questions: list[str], clients: int, requests: int,
              timeout: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    found = 0
    lock = threading.Lock()
    local = threading.local()
    jobs = [questions[i % len(questions)] for i in range(requests)]

    def one(question: str) -> None:
        nonlocal found
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, timeout=timeout)
        t0 = time.perf_counter()
        try:
            resp = local.client.post(endpoint, json=body_for(endpoint, question))
            took = time.perf_counter() - t0
            reply = resp.json()
            problem = (f"HTTP {resp.status_code}" if resp.status_code != 200
                       else None if asked(endpoint, reply) == question else f"mixed up: {question!r}")
        except httpx.HTTPError as e:
            took, problem, reply = time.perf_counter() - t0, f"{type(e).__name__}", {}
        with lock:
            latencies.append(took)
            if problem:
                errors.append(problem)
            elif reply.get("found", bool(reply.get("citations"))):
                found += 1

    with load_probe() as load, ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, jobs))
    return {"clients": clients, "requests": requests, "errors": len(errors), "error_samples": errors[:5],
            "found": found, "throughput_rps": requests / load.wall_s, **percentiles_ms(latencies),
            "load": load.as_dict(), "latencies_s": [round(x, 4) for x in latencies]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--levels", default="1,4,16,50", help="concurrent clients per level")
    ap.add_argument("--requests", type=int, default=200, help="requests per level")
    ap.add_argument("--warmup", type=int, default=20, help="untimed requests first (warm query runtime)")
    ap.add_argument("--endpoint", default="/api/ask", choices=["/api/ask", "/v1/chat/completions"])
    ap.add_argument("--workers", type=int, default=1, help="rag serve --workers")
    ap.add_argument("--index-dir", type=Path, help="reuse this index (default: seeds/ into a temp folder)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    questions = [json.loads(line)["question"] for line in
                 (REPO_ROOT / "eval" / "qa.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory(prefix="api-load-") as tmp:
        index_dir = args.index_dir or Path(tmp) / "index"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = Path(tmp) / "serve.log"
        proc = start_server(index_dir, port, args.workers, log)
        try:
            print(f"rag serve on {url} (log {log})…", file=sys.stderr)
            startup = wait_ready(url, proc, timeout=600)
            print(f"healthy after {startup:.1f} s; warming up", file=sys.stderr)
            with httpx.Client(base_url=url, timeout=args.timeout) as c:
                for q in questions[:args.warmup]:
                    c.post(args.endpoint, json=body_for(args.endpoint, q))
            levels = []
            for n in (int(x) for x in args.levels.split(",")):
                print(f"{n} clients × {args.requests} requests…", file=sys.stderr)
                levels.append(run_level(url, args.endpoint, questions, n, args.requests, args.timeout))
            metrics = httpx.get(f"{url}/metrics", timeout=10).text
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    info = machine_info()
    print(f"## rag serve under load ({args.endpoint}, {args.workers} worker(s))\n")
    print(f"{info['date']}, {info['nproc']} cores ({info['cpu']}); server healthy {startup:.1f} s after start; "
          f"{args.requests} requests per level from eval/qa.jsonl; loopback.\n")
    print(markdown_table(
        ["clients", "requests", "errors", "answered (found)", "throughput (req/s)", "p50 (ms)", "p95 (ms)",
         "other processes (cores)"],
        [[lv["clients"], lv["requests"], lv["errors"], lv["found"], lv["throughput_rps"], lv["p50_ms"],
          lv["p95_ms"], lv["load"]["background_cores"]] for lv in levels]))
    if args.out:
        write_json(args.out, {"machine": info, "code": code_version(), "endpoint": args.endpoint,
                              "workers": args.workers, "startup_s": startup, "levels": levels,
                              "server_metrics": metrics})


if __name__ == "__main__":
    main()
