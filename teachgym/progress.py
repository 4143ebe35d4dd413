"""One progress display for long jobs (a sweep's episodes, its anchors, an effect's episodes, a
training run's steps): a tqdm bar on stderr with the count, the share done, the ETA and a label of
the last thing done.

On a terminal the bar is rewritten in place at most twice a second; in a log (stderr not a
terminal, as in CI) it is written as whole lines, at most every 30 seconds and once at the end, so
logs stay short and readable. The ETA reads ``?`` until a rate is known (never ``nan``), and the
count never passes the total.
"""

from __future__ import annotations

import shutil
import sys
from typing import TextIO

from tqdm import tqdm

#: The bar's text: ``[done/total] share  ETA remaining  label``.
BAR_FORMAT = "[{n_fmt}/{total_fmt}] {percentage:3.0f}%  ETA {remaining}  {desc}"


class LineWriter:
    """A file for tqdm that turns each redraw into one line of ``stream``: tqdm redraws a bar in
    place with a carriage return, which a log file keeps, joining every redraw into one long line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        line = text.replace("\r", "").rstrip()  # the padding that blanks a longer earlier bar too
        if line:
            self.stream.write(line + "\n")

    def flush(self) -> None:
        self.stream.flush()


class Progress:
    """Counts ``total`` units of work (``unit``: "episode", "step") and shows them on ``stream``
    (default stderr); ``quiet`` shows nothing. :meth:`update` ends the bar (with a newline) when the
    count reaches ``total``; :meth:`advance_to` leaves it open for :meth:`finish`."""

    def __init__(
        self, total: int, quiet: bool = False, *, unit: str = "episode", stream: TextIO | None = None
    ) -> None:
        stream = sys.stderr if stream is None else stream
        tty = stream.isatty()
        size = shutil.get_terminal_size((100, 20))
        self.total = total
        self.bar = tqdm(
            total=total,
            unit=unit,
            file=stream if tty else LineWriter(stream),
            disable=quiet or total <= 0,
            mininterval=0.5 if tty else 30.0,
            bar_format=BAR_FORMAT,
            # On a terminal its size, or 100 x 20 where it reports none: tqdm would cut the bar to
            # nothing in a terminal of width 0 and hide it in one of height 0. In a log, whole lines.
            ncols=(size.columns or 100) if tty else None,
            nrows=(size.lines or 20) if tty else None,
        )

    def update(self, label: str, count: int = 1) -> None:
        """Count ``count`` more units done and show ``label`` (what was done last)."""
        self._count(label, count)
        if self.bar.n >= self.total:
            self.bar.close()

    def advance_to(self, done: int, label: str) -> None:
        """Set the count of units done to ``done``, shown as at most ``total`` (a job may run past
        its total: SB3 ends its last rollout), and show ``label``. The bar stays open."""
        self._count(label, max(min(done, self.total) - self.bar.n, 0))

    def finish(self, label: str) -> None:
        """Show the count at ``total`` with a last ``label`` (e.g. how far past the total the job
        ran) and end the bar."""
        self._count(label, max(self.total - self.bar.n, 0))
        self.bar.close()

    def close(self) -> None:
        """End the bar where it is (an interrupted or shorter job)."""
        self.bar.close()

    def _count(self, label: str, count: int) -> None:
        self.bar.set_description_str(label, refresh=False)
        self.bar.update(count)


__all__ = ["BAR_FORMAT", "LineWriter", "Progress"]
