"""Progress bars on stderr that can be switched off (tests, --quiet, RAG_SHOW_PROGRESS=0)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class _NullBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str) -> None:
        pass


@contextmanager
def progress_bar(total: int, desc: str, unit: str = "it", enabled: bool = True) -> Iterator[Any]:
    """A tqdm bar (rate and ETA) on stderr, or a no-op when disabled or tqdm is missing."""
    if not enabled:
        yield _NullBar()
        return
    try:
        from tqdm import tqdm
    except ImportError:
        yield _NullBar()
        return
    with tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False,
              dynamic_ncols=True) as bar:
        yield bar


def status(message: str, enabled: bool = True) -> None:
    """One line of progress on stderr (stdout stays clean for --json)."""
    if enabled:
        print(message, file=sys.stderr, flush=True)
