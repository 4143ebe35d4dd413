"""How a failed episode's error is written in its record: one line, the exception's type, message and
the place it was raised.

Shared by the episodes (a raising teacher, a NaN accuracy) and the executors (a dead worker, a lost
result), so that every failure reads the same whichever part of a sweep caught it.
"""

from __future__ import annotations

import traceback
from pathlib import Path

#: The longest error a record keeps (characters): a runaway message must not bloat the results file.
MAX_STORED_ERROR_CHARS = 2000


def error_message(error: BaseException | str) -> str:
    """``"ExceptionType: message (at file:line)"`` (the last traceback line), at most
    :data:`MAX_STORED_ERROR_CHARS` characters; a string is kept as it is (then cut to that length)."""
    if isinstance(error, BaseException):
        where = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
        place = f" (at {Path(where[0].filename).name}:{where[0].lineno})" if where else ""
        error = f"{type(error).__name__}: {error}{place}"
    return error[:MAX_STORED_ERROR_CHARS]


__all__ = ["MAX_STORED_ERROR_CHARS", "error_message"]
