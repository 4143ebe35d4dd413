"""The progress line of a batch of episodes (a sweep's, its anchors', an effect's) on stderr."""

from __future__ import annotations

import sys
import time


class Progress:
    """A one-line progress bar with an ETA on stderr (a line per 10% when stderr is not a terminal)."""

    def __init__(self, total: int, quiet: bool = False) -> None:
        self.total, self.done, self.start, self.quiet = total, 0, time.perf_counter(), quiet
        self.tty = sys.stderr.isatty()
        self._last_decile = -1

    def update(self, label: str) -> None:
        """Count one more episode done and show ``label`` (what it was) with the ETA (seconds)."""
        self.done += 1
        if self.quiet or not self.total:
            return
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        line = f"[{self.done}/{self.total}] {self.done / self.total:4.0%}  ETA {eta:5.0f} s  {label}"
        decile = 10 * self.done // self.total
        if self.tty:
            print("\r" + line[:100].ljust(100), end="\n" if self.done == self.total else "", file=sys.stderr)
        elif decile != self._last_decile:
            self._last_decile = decile
            print(line, file=sys.stderr)


__all__ = ["Progress"]
