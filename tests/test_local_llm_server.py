"""The local model server's thread defaults (rag.app.local_llm), without the model: the numbers
are read in a real child process pinned to real cores, as the server would start.

Why it matters: writing an answer on every core stalls each token at the threads' barriers as soon
as another process runs (measured 0.2–1.4 tokens/s on 2 shared cores, against 2.2–6.6 on one).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rag.config import REPO_ROOT


def default_on(cores: set[int], name: str) -> int:
    """`rag.app.local_llm.<name>()` as a process allowed only `cores` computes it."""
    code = f"from rag.app import local_llm; print(local_llm.{name}())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=REPO_ROOT, preexec_fn=lambda: os.sched_setaffinity(0, cores))
    return int(out.stdout)


def two_cores() -> set[int]:
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        pytest.skip("needs 2 cores")
    return set(cores[:2])


needs_affinity = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this OS")


@needs_affinity
def test_two_cores_write_the_answer_on_one():
    assert default_on(two_cores(), "default_threads") == 1


@needs_affinity
def test_two_cores_read_the_prompt_on_both():
    assert default_on(two_cores(), "default_batch_threads") == 2


@needs_affinity
@pytest.mark.parametrize("name", ["default_threads", "default_batch_threads"])
def test_one_core_still_gets_a_thread(name):
    assert default_on({sorted(os.sched_getaffinity(0))[0]}, name) == 1
