"""One progress display for long jobs (a sweep's episodes, its anchors, an effect's episodes, a
training run's steps): a tqdm bar on stderr with the count, the share done, the ETA and a label of
the last thing done.

On a terminal the bar is rewritten in place at most twice a second; in a log (stderr not a
terminal, as in CI) it is written at most every 30 seconds and once at the end, so logs stay short.
"""

from __future__ import annotations

import shutil
import sys

from tqdm import tqdm

#: The bar's text: ``[done/total] share  ETA remaining  label``.
BAR_FORMAT = "[{n_fmt}/{total_fmt}] {percentage:3.0f}%  ETA {remaining}  {desc}"


class Progress:
    """Counts ``total`` units of work (``unit``: "episode", "step") and shows them on stderr;
    ``quiet`` shows nothing. The bar ends (with a newline) when the count reaches ``total``."""

    def __init__(self, total: int, quiet: bool = False, *, unit: str = "episode") -> None:
        tty = sys.stderr.isatty()
        size = shutil.get_terminal_size((100, 20))
        self.total = total
        self.bar = tqdm(
            total=total,
            unit=unit,
            file=sys.stderr,
            disable=quiet or total <= 0,
            mininterval=0.5 if tty else 30.0,
            bar_format=BAR_FORMAT,
            # The terminal's size, or 100 x 20 where it reports none: tqdm would cut the bar to
            # nothing in a terminal of width 0 and hide it in one of height 0.
            ncols=size.columns or 100,
            nrows=size.lines or 20,
        )

    def update(self, label: str, count: int = 1) -> None:
        """Count ``count`` more units done and show ``label`` (what was done last)."""
        self.bar.set_description_str(label, refresh=False)
        self.bar.update(count)
        if self.bar.n >= self.total:
            self.bar.close()

    def advance_to(self, done: int, label: str) -> None:
        """Set the count of units done to ``done`` (at most ``total``) and show ``label``."""
        self.update(label, max(min(done, self.total) - self.bar.n, 0))

    def close(self) -> None:
        """End the bar where it is (an interrupted or shorter job)."""
        self.bar.close()


__all__ = ["BAR_FORMAT", "Progress"]
