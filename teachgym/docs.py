"""Keep the README's generated tables in step with the registries.

``python -m teachgym.docs README.md leaderboards/README.md`` rewrites every
``<!-- NAME:begin -->`` ... ``<!-- NAME:end -->`` block that has a generator below; the tests fail
when a committed file differs from this.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from teachgym.bench.records import schema_table
from teachgym.cli import agent_rows, env_rows, format_table

#: Block name -> function producing its Markdown.
GENERATED: dict[str, Callable[[], str]] = {
    "envs": lambda: format_table(env_rows(), markdown=True),
    "agents": lambda: format_table(agent_rows(), markdown=True),
    "record-schema": lambda: schema_table().rstrip("\n"),
}


def render(text: str) -> str:
    """``text`` with every generated block replaced by its current content."""
    for name, generate in GENERATED.items():
        pattern = re.compile(rf"(<!-- {name}:begin -->\n).*?(<!-- {name}:end -->)", re.S)
        text = pattern.sub(lambda m, g=generate: m.group(1) + g() + "\n" + m.group(2), text)  # type: ignore[misc]
    return text


def main(argv: list[str] | None = None) -> int:
    for name in argv if argv is not None else sys.argv[1:]:
        path = Path(name)
        path.write_text(render(path.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
