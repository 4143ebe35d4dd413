"""A leaderboard a reader can read: plots sized for their legends, one style per teacher, the x axis in
examples taught, every table saying its order, and the paired difference to uniform first per task."""

from __future__ import annotations

import re
import struct
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from test_bench_report import (
    ENVS,
    NUM_SEEDS,
    PER_TASK,
    family_section,
    make_record,
    section,
    table_rows,
    write_results,
)

from teachgym.bench.records import check_record
from teachgym.bench.report import build_report, render
from teachgym.bench.report_curves import X_LABEL, family_figure, teacher_styles
from teachgym.bench.report_text import TASK_COLUMNS

pytest.importorskip("matplotlib")

#: Teachers as a crowded family has them (13 curriculum teachers and more), some with long names.
MANY = [
    "sb3:leaderboards/policies/ppo-v1",
    *(f"teacher-{i:02d}" for i in range(26)),
    "a-teacher-with-a-rather-long-name-indeed",
]


def _crowded_folder(directory: Path, teachers: list[str], tasks: list[str]) -> Path:
    """The tiny suite's records on ``tasks`` plus, on each task, copies of uniform's under ``teachers``
    (``teacher-00`` only on the first task, so one family's figure lacks it)."""
    records = [make_record(t, a, s) for t in tasks for a in ("uniform", "oracle") for s in range(NUM_SEEDS)]
    for task in tasks:
        for rank, name in enumerate(teachers):
            if name == "teacher-00" and task != tasks[0]:
                continue
            for seed in range(NUM_SEEDS):
                record = make_record(task, "uniform", seed)
                # A little apart from uniform, so every line is drawn where it can be seen.
                curve = [{**p, "mean_accuracy": p["mean_accuracy"] + 0.002 * rank} for p in record["curve"]]
                records.append(check_record({**record, "agent": name, "curve": curve}, "crowded record"))
    return write_results(directory, records)


def _inside(box: Any, width: float, height: float) -> bool:
    """Whether a display-space box lies within a ``width`` x ``height`` pixel canvas (0.5 px slack)."""
    return box.x0 >= -0.5 and box.y0 >= -0.5 and box.x1 <= width + 0.5 and box.y1 <= height + 0.5


def _png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


@pytest.mark.parametrize(
    ("teachers", "tasks"),
    [([], ["Beta-Sim-v0"]), (MANY, ["Beta-Sim-v0"]), (MANY[:5], ["Alpha-Sim-v0", "Alpha-Sim-v0[hard]"])],
    ids=["few-teachers", "many-teachers", "two-panels"],
)
def test_the_legend_and_titles_lie_inside_the_saved_figure(
    tmp_path: Path, teachers: list[str], tasks: list[str]
) -> None:
    from matplotlib.legend import Legend
    from matplotlib.text import Text

    directory = _crowded_folder(tmp_path, teachers, tasks)
    report = build_report(directory, reps=10)
    family = ENVS[tasks[0]]
    figure = family_figure(report, family, [r for r in report.records if r["family"] == family])
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    width, height = figure.bbox.width, figure.bbox.height
    (legend,) = figure.findobj(Legend)
    assert len(legend.get_texts()) == len(teachers) + 2  # uniform and oracle too
    assert _inside(legend.get_window_extent(renderer), width, height), "the legend is cut off"
    texts = [t for t in figure.findobj(Text) if t.get_visible() and t.get_text()]
    assert any("validation accuracy by examples taught" in t.get_text() for t in texts)
    for text in texts:
        assert _inside(text.get_window_extent(renderer), width, height), f"{text.get_text()!r} is cut off"
    # The panels and the legend do not overlap: the legend sits right of every panel.
    for ax in figure.findobj(lambda a: hasattr(a, "get_xlabel") and a.get_visible()):
        assert ax.get_window_extent(renderer).x1 <= legend.get_window_extent(renderer).x0
    # What is saved is cropped to what is drawn, and holds the whole legend.
    render(directory, reps=10)
    saved_width, saved_height = _png_size(directory / f"curves_{family}.png")
    legend_box = legend.get_window_extent(renderer)
    pad = 2 * 0.1 * figure.dpi  # bbox_inches="tight" pads by 0.1 inch a side
    assert (
        legend_box.width <= saved_width <= width + pad and legend_box.height <= saved_height <= height + pad
    )


def test_every_teacher_has_its_own_style_in_every_figure(tmp_path: Path) -> None:
    tasks = ["Alpha-Sim-v0", "Beta-Sim-v0"]
    report = build_report(_crowded_folder(tmp_path, MANY, tasks), reps=10)
    styles = teacher_styles(report.agents, report.anchors)
    assert set(styles) == set(report.agents)
    assert len({(s.color, s.linestyle, s.marker) for s in styles.values()}) == len(report.agents)
    assert {styles[a].linestyle for a in report.anchors} == {"--"}  # anchors dashed...
    assert "--" not in {styles[a].linestyle for a in report.agents if a not in report.anchors}  # only they

    drawn: dict[str, set[tuple[Any, ...]]] = {}
    for family in ("Alpha", "Beta"):
        figure = family_figure(report, family, [r for r in report.records if r["family"] == family])
        ax = figure.findobj(lambda a: hasattr(a, "get_xlabel") and a.get_visible())[0]
        lines = {line.get_label().removesuffix(" (anchor)"): line for line in ax.get_lines()}
        assert ("teacher-00" in lines) == (family == "Alpha")
        looks = [(line.get_color(), line.get_linestyle(), line.get_marker()) for line in lines.values()]
        assert len(set(looks)) == len(looks), f"{family}: two teachers look alike"
        for agent, line in lines.items():
            drawn.setdefault(agent, set()).add((line.get_color(), line.get_linestyle(), line.get_marker()))
    # A teacher keeps its style from one figure to the next, though the figures hold other teachers.
    assert all(len(looks) == 1 for looks in drawn.values()), drawn


def test_the_x_axis_is_the_examples_taught(tmp_path: Path) -> None:
    report = build_report(write_results(tmp_path), reps=10)
    figure = family_figure(report, "Beta", [r for r in report.records if r["family"] == "Beta"])
    ax = figure.findobj(lambda a: hasattr(a, "get_xlabel") and a.get_visible())[0]
    assert "examples" in ax.get_xlabel() and ax.get_xlabel() == X_LABEL
    (uniform,) = [line for line in ax.get_lines() if line.get_label() == "uniform"]
    # The records teach 8 examples a step (steps 0 to 5): the x values are the cumulative counts.
    assert list(uniform.get_xdata()) == [0, 8, 16, 24, 32, 40]


# --- tables ---------------------------------------------------------------------------------------


class Tables(HTMLParser):
    """Each ``table`` of a page: its id, caption, header cells' attributes and body rows' sort values."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables: list[dict[str, Any]] = []
        self._in: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "table":
            self.tables.append({"id": attributes.get("id"), "caption": "", "headers": [], "rows": []})
        elif tag == "caption":
            self._in = "caption"
        elif tag == "th":
            self.tables[-1]["headers"].append(attributes)
        elif tag == "tr" and "data-teacher" in attributes:
            self.tables[-1]["rows"].append([])
        elif tag == "td" and self.tables and self.tables[-1]["rows"]:
            self.tables[-1]["rows"][-1].append(attributes.get("data-value"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption":
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "caption":
            self.tables[-1]["caption"] += data

    def table(self, table_id: str) -> dict[str, Any]:
        return next(t for t in self.tables if t["id"] == table_id)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # greedy misses Beta, so the not-ranked table and the family rankings have rows.
    directory = tmp_path_factory.mktemp("orders")
    records = [
        make_record(task, agent, seed)
        for task in ENVS
        for agent in ("greedy", "uniform", "oracle")
        for seed in range(NUM_SEEDS)
        if not (agent == "greedy" and task == "Beta-Sim-v0")
    ]
    records += [{**r, "agent": "random", "reference": False} for r in records if r["agent"] == "uniform"]
    write_results(directory, records)
    render(directory, reps=20)
    return directory


def _markdown_table_after(text: str, order_start: str) -> tuple[str, list[str]]:
    """The sentence starting with ``order_start`` and the header cells of the table right under it."""
    match = re.search(rf"^({re.escape(order_start)}[^\n]*)\n\n(\|[^\n]*)\n", text, re.M)
    assert match, f"no table under a line starting {order_start!r}"
    return match.group(1), [cell.strip() for cell in match.group(2).strip("|").split("|")]


def test_every_markdown_table_says_its_order(folder: Path) -> None:
    readme = (folder / "README.md").read_text(encoding="utf-8")
    tables = [line for line in readme.splitlines() if re.match(r"^\|[-:|]+\|$", line)]
    orders = re.findall(r"^(?:Sorted by|Tasks in)[^\n]*\n\n\|[^\n]*\n\|[-:|]+\|$", readme, re.M)
    assert len(orders) == len(tables) >= 7, "a table without the sentence that says its order"
    sentence, header = _markdown_table_after(
        section(readme, "Ranking: teachers that ran all 3 tasks"), "Sorted"
    )
    assert sentence == "Sorted by score IQM, highest first; ties by teacher name, A to Z."
    assert header[2] == "Score IQM [95% CI] ▼ highest first"
    _, header = _markdown_table_after(
        section(readme, "Not ranked: teachers that ran only some tasks"), "Sorted"
    )
    assert header[4] == "Tasks ▼ highest first"
    _, header = _markdown_table_after(section(readme, "Anchors, not ranked"), "Sorted")
    assert header[0] == "Teacher ▲ A to Z"
    # Truthful: the anchors are in name order, the per-task rows as their sentence says.
    names = [row[0] for row in table_rows(section(readme, "Anchors, not ranked"))]
    assert names == sorted(names) == ["oracle", "random"]


def test_per_task_rows_are_in_the_order_their_sentence_gives(folder: Path) -> None:
    readme = (folder / "README.md").read_text(encoding="utf-8")
    body = section(family_section(readme, "Alpha"), PER_TASK)
    sentence, _ = _markdown_table_after(body, "Sorted")
    assert (
        "by mean test accuracy, highest first" in sentence and "then the anchors by name, A to Z" in sentence
    )
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in body.splitlines()[5:] if line]
    for task in ("Alpha-Sim-v0", "Alpha-Sim-v0[hard]"):
        teachers = [r for r in rows if r[0] == task and "(anchor)" not in r[1]]
        anchors = [r[1] for r in rows if r[0] == task and "(anchor)" in r[1]]
        accuracies = [float(r[4]) for r in teachers]
        assert accuracies == sorted(accuracies, reverse=True)
        assert anchors == sorted(anchors) == ["oracle (anchor)", "random (anchor)"]


def test_every_page_table_has_a_caption_with_its_order(folder: Path) -> None:
    page = Tables((folder / "index.html").read_text(encoding="utf-8"))
    assert len(page.tables) >= 7
    for table in page.tables:
        assert re.match(r"(Sorted by|Tasks in) ", table["caption"]), table
    ranking = page.table("ranking")
    assert ranking["caption"] == "Sorted by score IQM, highest first; ties by teacher name, A to Z."
    sorted_by = [h for h in ranking["headers"] if h.get("aria-sort")]
    assert [(h["data-sort"], h["aria-sort"], h["data-desc"]) for h in sorted_by] == [
        ("score", "descending", "highest first")
    ]
    scores = [float(row[2]) for row in ranking["rows"]]
    assert scores == sorted(scores, reverse=True)
    not_ranked = page.table("not-ranked")
    assert [(h["data-sort"], h["aria-sort"]) for h in not_ranked["headers"] if h.get("aria-sort")] == [
        ("tasks", "descending")
    ]
    anchors = page.table("anchors")
    assert [(h["data-sort"], h["aria-sort"]) for h in anchors["headers"] if h.get("aria-sort")] == [
        ("teacher", "ascending")
    ]
    assert [row[0] for row in anchors["rows"]] == ["oracle", "random"]
    css = (Path(__file__).parents[1] / "teachgym/bench/page/report.css").read_text()
    assert "attr(data-desc)" in css and "attr(data-asc)" in css  # the header shows the words too


def test_the_paired_difference_to_uniform_comes_first_in_both_formats(folder: Path) -> None:
    first_number = next(column for column in TASK_COLUMNS if column[2] == "number")
    assert first_number[0] == "difference"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    for family in ("Alpha", "Beta"):
        _, header = _markdown_table_after(section(family_section(readme, family), PER_TASK), "Sorted")
        assert header[:3] == ["Task", "Teacher", "Paired difference to uniform [95% CI]"]
    page = Tables((folder / "index.html").read_text(encoding="utf-8"))
    keys = [h["data-sort"] for h in page.table("families")["headers"]]
    assert keys[: keys.index("teacher") + 2] == ["family", "task", "teacher", "difference"]
    assert page.table("families")["headers"][3]["class"] == "primary"  # emphasized on the page
