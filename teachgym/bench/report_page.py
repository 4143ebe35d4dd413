"""A leaderboard's ``index.html``: one self-contained page (inline CSS and JavaScript, curves as PNG
data URIs) with the README's tables, sortable, and a family filter.

The stylesheet and the script are package data, ``teachgym/bench/page/report.css`` and
``report.js``, inlined into every page. The script sorts the tables and filters by family; it also
keeps the ranking's order and the family in the URL hash (``#sort=KEY-asc&family=NAME``) and applies
it on load, so a link (or a headless browser) reproduces a view without clicking.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from importlib.resources import files
from typing import Any

from teachgym.bench.report_model import Report, TeacherRow
from teachgym.bench.report_text import (
    DIRECTION_WORDS,
    SUMMARY_HEADER,
    TABLE_ORDERS,
    TASK_COLUMNS,
    TEACHER_COLUMNS,
    Order,
    counts_text,
    curve_note,
    error_text,
    family_order,
    family_texts,
    file_stem,
    method_notes,
    section_headings,
    summary_cells,
    task_cells,
    teacher_cells,
)


def _asset(name: str) -> str:
    """The text of ``teachgym/bench/page/<name>``, read through :mod:`importlib.resources` so that an
    installed wheel (which ships the folder as package data) serves it too."""
    return (files("teachgym.bench") / "page" / name).read_text(encoding="utf-8")


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


#: The column a reader looks at first in a table (emphasized): the per-task paired difference.
PRIMARY_COLUMN = "difference"


def _header_cell(sort_key: str, header: str, kind: str, order: Order) -> str:
    """A sortable column's ``th``: the words of each direction (shown after the arrow by the
    stylesheet, and in the caption by the script) and, for the column the rows are sorted by, its
    ``aria-sort``."""
    aria = ""
    if sort_key == order.column:
        aria = f' aria-sort="{"descending" if order.direction == "desc" else "ascending"}"'
    words = f' data-desc="{DIRECTION_WORDS[(kind, "desc")]}" data-asc="{DIRECTION_WORDS[(kind, "asc")]}"'
    css = ' class="primary"' if sort_key == PRIMARY_COLUMN else ""
    return f'<th data-sort="{sort_key}" data-type="{kind}"{words}{aria}{css}>{_esc(header)}</th>'


def _html_table(
    table_id: str,
    columns: Sequence[tuple[str, str, str]],
    rows: Sequence[tuple[dict[str, str], list[tuple[str, float | str | None]]]],
    order: Order,
) -> list[str]:
    """A sortable table whose caption says its order; each row is (its ``tr`` attributes, (text, sort
    value) per column)."""
    attribute = f' data-sorted="{order.sorted_by}"' if order.sorted_by else ""
    lines = [
        f'<table id="{table_id}" class="sortable"{attribute}>',
        f"<caption>{_esc(order.text)}</caption>",
        "<thead><tr>",
    ]
    lines += [_header_cell(sort_key, header, kind, order) for sort_key, header, kind in columns]
    lines += ["</tr></thead>", "<tbody>"]
    for attributes, cells in rows:
        tr = "".join(f' {name}="{_esc(value)}"' for name, value in attributes.items())
        tds = []
        for (text, value), (sort_key, _, kind) in zip(cells, columns, strict=True):
            data = "" if value is None else (repr(float(value)) if kind == "number" else str(value))
            classes = ["number"] if kind == "number" else []
            classes += ["primary"] if sort_key == PRIMARY_COLUMN else []
            css = f' class="{" ".join(classes)}"' if classes else ""
            tds.append(f'<td{css} data-value="{_esc(data)}">{_esc(text)}</td>')
        lines.append(f"<tr{tr}>" + "".join(tds) + "</tr>")
    lines += ["</tbody>", "</table>"]
    return lines


def _plain_table(header: Sequence[str], rows: Sequence[Sequence[str]], order: Order) -> list[str]:
    lines = ["<table>", f"<caption>{_esc(order.text)}</caption>"]
    lines += ["<thead><tr>" + "".join(f"<th>{_esc(h)}</th>" for h in header) + "</tr></thead>"]
    lines += ["<tbody>"] + ["<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows]
    return [*lines, "</tbody>", "</table>"]


def page_html(report: Report, images: dict[str, bytes]) -> str:
    """The whole ``index.html`` of ``report``; ``images`` maps each family to its PNG's bytes."""
    suite = report.suite
    headings = section_headings(report)
    num_tasks = len(suite.tasks)

    def teacher_rows(rows: list[TeacherRow], ranked: bool, tasks: int) -> list[Any]:
        return [
            ({"data-teacher": row.agent}, teacher_cells(row, rank, tasks)[0 if ranked else 1 :])
            for rank, row in enumerate(rows, start=1)
        ]

    task_rows = [
        ({"data-family": row.family, "data-teacher": row.agent}, task_cells(row)) for row in report.task_rows
    ]
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>teachgym leaderboard: {_esc(suite.name)}</title>",
        # The file starts on the line after the tag, as the stylesheet always has in committed pages.
        f"<style>\n{_asset('report.css')}</style>",
        "</head>",
        "<body>",
        f"<h1>Leaderboard: {_esc(suite.name)}</h1>",
        f'<p class="note">{num_tasks} tasks x {len(report.agents)} teachers x {suite.num_seeds} '
        f"seeds; {report.num_records} episodes recorded. Generated by teachgym.bench.report; "
        "do not edit.</p>",
        f"<p>Regenerate the results:</p><pre><code>{_esc(chr(10).join(suite.commands))}</code></pre>",
        f"<p>Re-render this page:</p><pre><code>{_esc(report.rerender_command)}</code></pre>",
        f"<h2>{_esc(headings['ranking'])}</h2>",
        # Always a table, even empty: the page's script sorts it and keeps its order in the URL.
        *_html_table(
            "ranking", TEACHER_COLUMNS, teacher_rows(report.ranked, True, num_tasks), TABLE_ORDERS["ranking"]
        ),
        *([] if report.ranked else ["<p>None.</p>"]),
        *[f'<p class="note">{_esc(note)}</p>' for note in method_notes(report)],
        f"<h2>{_esc(headings['partial'])}</h2>",
        *(
            _html_table(
                "not-ranked",
                TEACHER_COLUMNS[1:],
                teacher_rows(report.partial, False, num_tasks),
                TABLE_ORDERS["partial"],
            )
            if report.partial
            else ["<p>None: every teacher other than the anchors ran every task.</p>"]
        ),
        f"<h2>{_esc(headings['anchors'])}</h2>",
        *(
            _html_table(
                "anchors",
                TEACHER_COLUMNS[1:],
                teacher_rows(report.anchor_rows, False, num_tasks),
                TABLE_ORDERS["anchors"],
            )
            if report.anchor_rows
            else ["<p>None ran.</p>"]
        ),
        f"<h2>{_esc(headings['families'])}</h2>",
        '<p><label for="family-filter">Family: </label><select id="family-filter">',
        '<option value="all">all</option>',
        *[f'<option value="{_esc(f)}">{_esc(f)}</option>' for f in report.families],
        "</select></p>",
        f"<p>{_esc(headings['tasks'])}:</p>",
        *_html_table("families", TASK_COLUMNS, task_rows, TABLE_ORDERS["tasks"]),
        f'<p class="note">{_esc(curve_note())}</p>',
    ]
    for family in report.families.values():
        texts = family_texts(report, family)
        stem = file_stem(family.name)
        summaries = [summary_cells(s) for s in report.task_summaries if s.family == family.name]
        data = base64.b64encode(images[family.name]).decode("ascii")
        lines += [
            f'<section data-family="{_esc(family.name)}">',
            f"<h3>{_esc(family.name)}</h3>",
            f"<h4>{_esc(texts['ranking'])}</h4>",
            *(
                _html_table(
                    f"ranking-{stem}",
                    TEACHER_COLUMNS,
                    teacher_rows(family.ranked, True, len(family.tasks)),
                    family_order(family),
                )
                if family.ranked
                else ["<p>None.</p>"]
            ),
            f'<p class="note">{_esc(texts["ranking_note"])}</p>',
            f"<h4>{_esc(texts['summary'])}</h4>",
            *_plain_table(SUMMARY_HEADER, summaries, TABLE_ORDERS["summary"]),
            f'<figure data-family="{_esc(family.name)}">',
            f'<img alt="{_esc(family.name)}: validation accuracy by training examples taught" '
            f'src="data:image/png;base64,{data}">',
            f"<figcaption>{_esc(family.name)}</figcaption>",
            "</figure>",
            "</section>",
        ]
    lines += [f"<h2>{_esc(headings['failures'])}</h2>"]
    if report.failures:
        body = [[r["task"], r["agent"], str(r["seed"]), error_text(r)] for r in report.failures]
        lines += _plain_table(["Task", "Teacher", "Seed", "Error"], body, TABLE_ORDERS["failures"])
    else:
        lines += ["<p>No failed episodes.</p>"]
    if report.missing:
        lines += [f"<p>Missing episodes (fewer than {suite.num_seeds} seeds recorded):</p>"]
        lines += _plain_table(
            ["Task", "Teacher", "Missing"],
            [[e, a, str(n)] for e, a, n in report.missing],
            TABLE_ORDERS["missing"],
        )
    lines += [
        f"<h2>{_esc(headings['provenance'])}</h2>",
        "<ul>",
        f"<li>teachgym versions: {_esc(counts_text(report.versions).replace('`', ''))}</li>",
        f"<li>git revisions: {_esc(counts_text(report.revisions).replace('`', ''))}</li>",
        f"<li>statistics: teachgym.bench.stats, {report.reps} bootstrap resamples, seed {report.seed}; "
        "paired differences: Student t intervals</li>",
        "</ul>",
        f"<script>\n{_asset('report.js')}</script>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(lines)
