"""The tables the ``teachgym`` command prints (and the README embeds): environments and teachers, read
from their registries, as aligned text wrapped to a width or as Markdown."""

from __future__ import annotations

import shutil
import textwrap
from typing import TYPE_CHECKING

import gymnasium as gym

import teachgym
from teachgym.config import parse_config
from teachgym.registry_utils import load, lookup

if TYPE_CHECKING:
    from types import ModuleType

#: The width of the text tables where the terminal reports none (output to a pipe or a file).
FALLBACK_WIDTH = 100
#: Characters between two columns.
GAP = "  "


def agents_module() -> ModuleType:
    """``teachgym.agents``, imported by the commands that use teachers: listing or making envs
    needs neither the teachers nor stable-baselines3."""
    from teachgym import agents  # type: ignore[attr-defined]  # agents/ is installed as teachgym.agents

    return agents  # type: ignore[no-any-return]


def budget_text(num_steps: int, examples_per_step: int) -> str:
    """An episode's budget as the env spends it, e.g. ``"150 steps x 1 example"``."""
    plural = "" if examples_per_step == 1 else "s"
    return f"{num_steps} steps x {examples_per_step} example{plural}"


def env_rows() -> list[dict[str, str]]:
    """One row per registered id, read from the Gymnasium registry (the one list of envs). Settings
    are the id's keyword arguments over its family's own defaults (a Tutor step is one exercise, not
    the 40 examples of a generic config), parsed without building the env."""
    rows = []
    for env_id in teachgym.envs.ids():
        spec = gym.spec(env_id)
        env_class = load(str(spec.entry_point))
        config = parse_config(env_class.FAMILY.config_class, spec.kwargs, owner=env_id)
        rows.append(
            {
                "id": env_id,
                "family": env_class.family,
                "domain": config.domain,
                "student": config.student,
                "engine": config.engine,
                "budget": budget_text(config.num_steps, config.examples_per_step),
            }
        )
    return rows


def agent_rows(family: str | None = None, *, installed: bool = False) -> list[dict[str, str]]:
    """One row per registered teacher (with ``installed``, also those installed packages declare,
    marked so); with ``family``, only those that act on that family (an UnknownNameError naming the
    closest family for an unknown one)."""
    agents = agents_module()
    if family is not None:
        lookup(teachgym.envs.FAMILIES, family, "family")
    rows = []
    own = set(agents.names())
    for name in agents.names(installed=installed):
        spec = agents.spec(name)
        if family is not None and family not in spec.families:
            continue
        marks = [mark for mark, on in (("reference", spec.reference), ("installed", name not in own)) if on]
        rows.append(
            {
                "name": name + "".join(f" ({mark})" for mark in marks),
                "families": ", ".join(spec.families),
                "follows": spec.paper,
                "what it does": spec.summary,
            }
        )
    return rows


def terminal_width() -> int:
    """The terminal's width in characters, or :data:`FALLBACK_WIDTH` where it reports none."""
    return shutil.get_terminal_size((FALLBACK_WIDTH, 20)).columns or FALLBACK_WIDTH


def column_widths(natural: dict[str, int], minimum: dict[str, int], width: int | None) -> dict[str, int]:
    """Column widths that fit ``width`` characters (with :data:`GAP` between columns): the widest
    column is narrowed, one character at a time, until the table fits or every column is at its
    ``minimum`` (then lines are wider than ``width``). ``width=None`` keeps the ``natural`` widths."""
    widths = dict(natural)
    if width is None:
        return widths
    excess = line_width(widths) - width
    while excess > 0:
        narrowable = [c for c in widths if widths[c] > minimum[c]]
        if not narrowable:
            break
        widest = max(narrowable, key=lambda c: widths[c])
        widths[widest] -= 1
        excess -= 1
    return widths


def line_width(widths: dict[str, int]) -> int:
    """The width of a table line with these column widths, in characters."""
    return sum(widths.values()) + len(GAP) * (len(widths) - 1)


def format_table(rows: list[dict[str, str]], markdown: bool = False, width: int | None = None) -> str:
    """Rows as an aligned text table, or a Markdown table. With ``width`` (characters), long cells
    are wrapped so that no line is wider (rows that wrap are then separated by a blank line)."""
    columns = list(rows[0])
    if markdown:
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(f"`{r[c]}`" if c == "id" else r[c] for c in columns) + " |" for r in rows]
        return "\n".join(lines)
    natural = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    longest_word = {c: max(len(word) for r in [{c: c}, *rows] for word in r[c].split()) for c in columns}
    widths = column_widths(natural, longest_word, width)
    if width is not None and line_width(widths) > width:
        # Too narrow for whole words: only the first column (names, ids) keeps them.
        floor = {c: longest_word[c] if c == columns[0] else len(c) for c in columns}
        widths = column_widths(natural, floor, width)
    wrapped = widths != natural
    blocks = [_text_row({c: c for c in columns}, widths)]
    blocks += [_text_row(r, widths) for r in rows]
    return ("\n\n" if wrapped else "\n").join(blocks)


def _text_row(row: dict[str, str], widths: dict[str, int]) -> str:
    """One row as one or more lines, each cell wrapped to its column's width (the first column's
    names and ids not at their hyphens)."""
    first = next(iter(widths))
    cells = {c: textwrap.wrap(row[c], widths[c], break_on_hyphens=c != first) or [""] for c in widths}
    height = max(len(lines) for lines in cells.values())
    lines = []
    for i in range(height):
        parts = [(cells[c][i] if i < len(cells[c]) else "").ljust(widths[c]) for c in widths]
        lines.append(GAP.join(parts).rstrip())
    return "\n".join(lines)


__all__ = [
    "FALLBACK_WIDTH",
    "agent_rows",
    "agents_module",
    "budget_text",
    "env_rows",
    "format_table",
    "terminal_width",
]
