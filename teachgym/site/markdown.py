"""Small Markdown writers for the generated pages: code spans and tables that survive any text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any


def code(text: Any) -> str:
    """``text`` as an inline code span, fenced with more backticks than it contains."""
    text = str(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def cell(text: str) -> str:
    """``text`` fit for one table cell: one line, and a ``|`` outside code spans escaped (the table
    extension already keeps a ``|`` inside backticks in its cell)."""
    parts = re.split(r"(`+[^`]*`+)", " ".join(text.split()))
    return "".join(part if part.startswith("`") else part.replace("|", "\\|") for part in parts)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table; every cell is passed through :func:`cell`."""
    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def keyword_arguments(kwargs: dict[str, Any]) -> str:
    """``name=value`` code spans, as Python would spell the call, e.g. ```num_steps=5```."""
    return ", ".join(code(f"{name}={value!r}") for name, value in kwargs.items()) or "none"


def anchor(heading: str) -> str:
    """The id Python-Markdown's ``toc`` extension gives ``heading`` (its default ``slugify``: lower
    case, punctuation dropped, runs of spaces and hyphens made one hyphen)."""
    slug = re.sub(r"[^\w\s-]", "", heading).strip().lower()
    return re.sub(r"[-\s]+", "-", slug)
