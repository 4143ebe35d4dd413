"""The progress line of ``teachgym train``: :class:`ProgressLine` shows one status line on stderr."""

from __future__ import annotations

import sys
import time

__all__ = ["ProgressLine"]


class ProgressLine:
    """One status line on stderr: rewritten in place at most every half second on a terminal; otherwise
    printed at every evaluation and at the end."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def show(self, line: str, *, force: bool = False, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.tty:
            if force or final or now - self.last >= 0.5:
                self.last = now
                print("\r" + line[:150].ljust(150), end="\n" if final else "", file=sys.stderr, flush=True)
        elif force or final:
            print(line, file=sys.stderr, flush=True)
