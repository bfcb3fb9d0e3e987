"""Helpers shared by bench/run.py and bench/scale.py: machine facts, load probe, stats, tables.

The machine is shared (other engineers run tests on the same 2 cores), so every measured section
also records how much CPU *other* processes used while it ran (`background_cores`): system busy
time from /proc/stat minus this process's and its waited children's CPU time, per wall second.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, object]:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "mem_gb": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "loadavg_start": load_average(),
    }


def code_version() -> dict[str, str]:
    """The commit and a digest of rag/ as it is on disk: other people edit it while we measure."""
    import hashlib
    import subprocess

    digest = hashlib.sha256()
    for f in sorted((REPO_ROOT / "rag").rglob("*.py")):
        digest.update(f.relative_to(REPO_ROOT).as_posix().encode() + b"\0" + f.read_bytes())
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, text=True,
                              capture_output=True, check=False).stdout.strip()
    except OSError:
        head = ""
    return {"git_head": head or "unknown", "rag_sha256": digest.hexdigest()[:16]}


def load_average() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return [float("nan")] * 3


def _system_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (user+nice+system+irq+softirq+steal)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@dataclass
class LoadSample:
    """What else ran on the machine during a measured section."""

    wall_s: float = 0.0
    own_cores: float = 0.0
    background_cores: float = 0.0
    loadavg_end: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"wall_s": round(self.wall_s, 2), "own_cores": round(self.own_cores, 2),
                "background_cores": round(self.background_cores, 2), "loadavg_end": self.loadavg_end}


@contextmanager
def load_probe() -> Iterator[LoadSample]:
    """Measure the busy cores used by other processes while the body runs."""
    sample = LoadSample()
    wall0, busy0, own0 = time.perf_counter(), _system_busy_seconds(), _own_cpu_seconds()
    try:
        yield sample
    finally:
        wall = max(time.perf_counter() - wall0, 1e-9)
        own = _own_cpu_seconds() - own0
        busy = _system_busy_seconds() - busy0
        sample.wall_s = wall
        sample.own_cores = own / wall
        sample.background_cores = max(0.0, (busy - own) / wall)
        sample.loadavg_end = load_average()


def percentiles_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/mean of durations given in seconds, in milliseconds."""
    arr = np.asarray(seconds, dtype=np.float64) * 1000
    if arr.size == 0:
        return {"p50_ms": float("nan"), "p95_ms": float("nan"), "mean_ms": float("nan"), "n": 0}
    return {"p50_ms": float(np.percentile(arr, 50)), "p95_ms": float(np.percentile(arr, 95)),
            "mean_ms": float(arr.mean()), "n": int(arr.size)}


def median(values: Sequence[float]) -> float:
    return float(np.median(np.asarray(values, dtype=np.float64))) if len(values) else float("nan")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(v: object) -> str:
        if isinstance(v, float):
            if v != v:  # NaN
                return "–"
            return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}" if abs(v) < 1 else f"{v:.1f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_json(path: Path, payload: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
