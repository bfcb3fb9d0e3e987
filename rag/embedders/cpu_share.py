"""Thread count for batch embedding on a shared machine, re-chosen between batches.

Why: on these 2-core machines sentence-transformers embedded the seed chunks ~1.8× faster on 2
torch threads than on 1 while the machine was free, and ~1.9× slower while another process held
a core (the second thread keeps waiting for it; bench/README.md). No fixed count is right for
both, so each batch gets as many threads as there are cores other processes left free during
the previous batch. Linux only (/proc/stat); elsewhere it stays on one thread.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

Sample = tuple[float, float, float]  # (wall s, all-core busy CPU s, this process's CPU s)


def read_sample() -> Sample | None:
    """Now: wall clock, busy CPU seconds of the whole machine since boot, and of this process."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None
    busy = (user + nice + system + irq + softirq + steal) / ticks
    return time.monotonic(), busy, time.process_time()


class BatchThreads:
    """`next()` before each batch gives the thread count for it: 1 for the first batch (nothing
    measured yet), then the cores other processes left free during the batch before."""

    def __init__(self, cores: int | None = None, sample: Callable[[], Sample | None] = read_sample) -> None:
        self.cores = max(1, cores or os.cpu_count() or 1)
        self._sample = sample
        self._last = sample()

    def others(self) -> float | None:
        """Cores used by other processes since the last call (None if it cannot be measured)."""
        now = self._sample()
        last, self._last = self._last, now
        if now is None or last is None or now[0] - last[0] < 0.05:
            return None
        wall = now[0] - last[0]
        return max(0.0, ((now[1] - last[1]) - (now[2] - last[2])) / wall)

    def next(self) -> int:
        others = self.others()
        if others is None:
            return 1
        return max(1, min(self.cores, int(self.cores - others + 0.5)))
