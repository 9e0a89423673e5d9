"""A plain-text progress bar for the examples (no dependency): ``[#####.....] 50/100 loss 0.41``."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    def __init__(self, total: int, width: int = 30):
        self.total, self.width, self.start = total, width, time.perf_counter()

    def update(self, step: int, loss: float) -> None:
        done = int(self.width * step / self.total)
        bar = "#" * done + "." * (self.width - done)
        elapsed = time.perf_counter() - self.start
        sys.stdout.write(f"\r[{bar}] {step}/{self.total} loss {loss:.4f} {elapsed:.1f}s")
        if step == self.total:
            sys.stdout.write("\n")
        sys.stdout.flush()


def report(first: float, last: float) -> None:
    """The line tests/test_examples.py reads: the loss must have gone down."""
    print(f"initial loss {first:.4f} -> final loss {last:.4f}")
