"""rag.embedders.cpu_share: batch threads follow the cores other processes leave free."""

from __future__ import annotations

from rag.embedders.cpu_share import BatchThreads, Sample, read_sample


class Clock:
    """Scripted /proc/stat readings: each step adds wall seconds, machine busy and own CPU."""

    def __init__(self) -> None:
        self.now: Sample = (100.0, 5000.0, 10.0)

    def step(self, wall: float, others: float, own: float) -> None:
        w, busy, mine = self.now
        self.now = (w + wall, busy + (others + own) * wall, mine + own * wall)

    def __call__(self) -> Sample:
        return self.now


def test_first_batch_is_one_thread() -> None:
    clock = Clock()
    assert BatchThreads(cores=2, sample=clock).next() == 1


def test_free_machine_gets_all_cores_busy_one_gets_one() -> None:
    clock = Clock()
    threads = BatchThreads(cores=2, sample=clock)
    threads.next()
    clock.step(1.0, others=0.05, own=1.0)
    assert threads.next() == 2
    clock.step(1.0, others=0.7, own=1.3)  # another process took a share of our second core
    assert threads.next() == 1
    clock.step(1.0, others=1.0, own=1.0)
    assert threads.next() == 1
    clock.step(1.0, others=0.0, own=1.0)  # it finished
    assert threads.next() == 2


def test_fully_busy_machine_still_gets_one_thread() -> None:
    clock = Clock()
    threads = BatchThreads(cores=2, sample=clock)
    clock.step(1.0, others=3.0, own=0.5)
    assert threads.next() == 1


def test_unmeasurable_means_one_thread() -> None:
    assert BatchThreads(cores=2, sample=lambda: None).next() == 1


def test_real_sample_is_sane() -> None:
    s = read_sample()
    if s is not None:  # Linux
        assert s[0] > 0 and s[1] > 0 and s[2] >= 0
        assert BatchThreads(cores=2).next() in (1, 2)
