"""A leaderboard's learning curves: one ``curves_<family>.png`` per family, validation mean accuracy
against the training examples taught so far, mean over seeds with a 95% normal-approximation band.

Every teacher keeps one line style (colour, dash pattern, marker) in every figure of a folder: the
style is derived from the teacher's place in the sorted list of all the folder's teachers
(:func:`teacher_styles`). The figure is sized for its panels and its legend, which sits to the right
of the panels, so nothing is clipped (:func:`family_figure`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from teachgym.bench.records import key
from teachgym.bench.report_model import Report
from teachgym.errors import ConfigError
from teachgym.files import save_atomic

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Two-sided 95% quantile of the standard normal, for the curves' bands (mean +- Z * standard error).
NORMAL_Z_95 = 1.959963984540054
#: Plot panels per row in a family's figure.
PANELS_PER_ROW = 3
#: Size of one plot panel (inches).
PANEL_WIDTH, PANEL_HEIGHT = 4.6, 3.4
#: Legend entries per legend column before another column is added.
LEGEND_ROWS = 20
#: Room the two-line title takes above the panels (inches).
TITLE_HEIGHT = 0.8
#: Colours of the teachers that are not anchors: matplotlib's tab10 without its grey, which the
#: anchors' shades would otherwise resemble.
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf")
#: Dash patterns of the teachers that are not anchors; dashed ("--") is kept for the anchors.
LINESTYLES = ("-", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
#: Anchors (random, reference teachers) are dashed, in shades of grey, with markers of their own.
ANCHOR_COLORS = ("black", "#666666", "#a0a0a0")
ANCHOR_MARKERS = ("*", "h", "p", "<", ">", "d", "8")
#: The x axis: ``examples_used`` of the records' curves, training examples given so far.
X_LABEL = "training examples taught (cumulative count)"
#: Markers drawn per curve (they tell lines apart where colours repeat; more would hide the line).
MARKERS_PER_CURVE = 6


@dataclass(frozen=True)
class LineStyle:
    """How one teacher's curve is drawn (matplotlib colour, line style and marker)."""

    color: str
    linestyle: str
    marker: str


def teacher_styles(agents: Sequence[str], anchors: Collection[str]) -> dict[str, LineStyle]:
    """teacher -> its style, distinct for every teacher of ``agents``.

    Teachers that are not anchors are numbered in sorted order; the i-th gets colour ``i % 9``, dash
    pattern ``(i // 9) % 3`` and marker ``i % 7``, so neighbours differ in colour and marker and the
    triple is unique for up to 189 of them (the anchors: up to 21). A teacher's style depends only on
    the list, so it is the same in every figure drawn from one folder.
    """
    contenders = sorted(a for a in agents if a not in anchors)
    styles = {
        agent: LineStyle(
            COLORS[i % len(COLORS)],
            LINESTYLES[(i // len(COLORS)) % len(LINESTYLES)],
            MARKERS[i % len(MARKERS)],
        )
        for i, agent in enumerate(contenders)
    }
    for i, agent in enumerate(sorted(a for a in agents if a in anchors)):
        styles[agent] = LineStyle(
            ANCHOR_COLORS[i % len(ANCHOR_COLORS)], "--", ANCHOR_MARKERS[i % len(ANCHOR_MARKERS)]
        )
    return styles


def mean_curve(curves: Sequence[Sequence[dict[str, Any]]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(examples taught, mean, half width of the 95% normal interval) of ``mean_accuracy`` per step.

    Episodes are aligned by ``step``; a step's statistics use the episodes that reached it, and its
    x value is the mean over them of ``examples_used`` (training examples given so far; the same for
    every seed on every committed task). Points without ``mean_accuracy`` are skipped. With one
    episode at a step the half width is 0.

    Raises:
        ConfigError: a point with an accuracy has no ``examples_used``.
    """
    by_step: dict[int, list[tuple[float, float]]] = {}
    for curve in curves:
        for point in curve:
            if point.get("mean_accuracy") is None:
                continue
            if point.get("examples_used") is None:
                raise ConfigError(f"curve point {point!r} has no examples_used; expected a count of examples")
            pair = (float(point["examples_used"]), float(point["mean_accuracy"]))
            by_step.setdefault(int(point["step"]), []).append(pair)
    examples, means, halves = [], [], []
    for step in sorted(by_step):
        taught, accuracies = np.array(by_step[step]).T
        examples.append(float(taught.mean()))
        means.append(float(accuracies.mean()))
        spread = float(accuracies.std(ddof=1)) if accuracies.size > 1 else 0.0
        halves.append(NORMAL_Z_95 * spread / math.sqrt(accuracies.size))
    return np.array(examples), np.array(means), np.array(halves)


@dataclass(frozen=True)
class _Layout:
    """A family figure's grid of panels and the room its legend needs (inches)."""

    num_rows: int
    num_cols: int
    panels_width: float
    legend_width: float
    legend_cols: int
    height: float


def _layout(num_panels: int, labels: Sequence[str]) -> _Layout:
    """The layout for ``num_panels`` panels and a legend of ``labels``.

    The legend's width is estimated from its longest label (about 0.065 inch a character at 8 pt,
    plus the line sample); its height, 0.22 inch an entry; a tall legend makes the figure taller.
    """
    num_cols = min(PANELS_PER_ROW, num_panels)
    num_rows = math.ceil(num_panels / num_cols)
    legend_cols = max(1, math.ceil(len(labels) / LEGEND_ROWS))
    legend_rows = math.ceil(len(labels) / legend_cols)
    longest = max((len(label) for label in labels), default=0)
    return _Layout(
        num_rows=num_rows,
        num_cols=num_cols,
        panels_width=PANEL_WIDTH * num_cols,
        legend_width=legend_cols * (0.9 + 0.065 * longest) + 0.2 if labels else 0.0,
        legend_cols=legend_cols,
        height=max(PANEL_HEIGHT * num_rows + TITLE_HEIGHT, 0.22 * legend_rows + 0.6),
    )


def _plot_task(
    ax: Any, task: str, report: Report, records: list[dict[str, Any]], labels: dict[str, str]
) -> dict[str, Any]:
    """Draw every teacher's curve of ``task`` on ``ax``; label -> its line, for the legend."""
    styles = teacher_styles(report.agents, report.anchors)
    lines = {}
    for agent, label in labels.items():
        curves = [
            r["curve"]
            for r in sorted(records, key=key)
            if r["task"] == task and r["agent"] == agent and r["status"] == "ok"
        ]
        examples, mean, half = mean_curve(curves)
        if examples.size == 0:
            continue
        style = styles[agent]
        every = max(1, examples.size // MARKERS_PER_CURVE)
        (lines[label],) = ax.plot(
            examples,
            mean,
            color=style.color,
            linestyle=style.linestyle,
            marker=style.marker,
            markersize=5,
            # Staggered per teacher, so the markers of close curves do not sit on one another.
            markevery=(report.agents.index(agent) % every, every),
            label=label,
            linewidth=1.5,
        )
        ax.fill_between(examples, mean - half, mean + half, color=style.color, alpha=0.15, linewidth=0)
    ax.set_title(task, fontsize=9)
    ax.set_xlabel(X_LABEL)
    ax.set_ylabel("validation mean accuracy")
    ax.grid(alpha=0.3)
    return lines


def family_figure(report: Report, family: str, records: list[dict[str, Any]]) -> Figure:
    """``family``'s figure: one panel per task and one line per teacher, with the title over the
    panels and the legend in a column of its own to their right, each sized for its contents."""
    # Imported here: matplotlib is the optional `viz` extra, needed only to render a report.
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    tasks = report.families[family].tasks
    labels = {
        agent: agent + (" (anchor)" if agent in report.anchors else "")
        for agent in report.agents
        if any(r["agent"] == agent for r in records)
    }
    layout = _layout(len(tasks), list(labels.values()))
    # The "default" style ignores the user's matplotlibrc, so the bytes depend only on the inputs.
    with matplotlib.style.context("default"):
        figure = Figure(
            figsize=(layout.panels_width + layout.legend_width, layout.height), dpi=100, layout="constrained"
        )
        FigureCanvasAgg(figure)
        # Two subfigures: a title centred over the panels cannot run into the legend.
        grid = figure.add_gridspec(1, 2, width_ratios=[layout.panels_width, max(layout.legend_width, 0.01)])
        panels, side = figure.add_subfigure(grid[0]), figure.add_subfigure(grid[1])
        axes = panels.subplots(layout.num_rows, layout.num_cols, squeeze=False)
        lines: dict[str, Any] = {}
        for index, task in enumerate(tasks):
            drawn = _plot_task(
                axes[index // layout.num_cols][index % layout.num_cols], task, report, records, labels
            )
            lines.update((label, line) for label, line in drawn.items() if label not in lines)
        for index in range(len(tasks), layout.num_rows * layout.num_cols):
            axes[index // layout.num_cols][index % layout.num_cols].set_visible(False)
        panels.suptitle(
            f"{family}: validation accuracy by examples taught\n"
            "mean over seeds, with a 95% normal-approximation band",
            fontsize=10,
        )
        if lines:
            shown = [label for label in labels.values() if label in lines]  # sorted, whichever task
            side.legend(
                [lines[label] for label in shown],
                shown,
                loc="center left",
                ncols=layout.legend_cols,
                fontsize=8,
            )
    return figure


def plot_family(report: Report, family: str, records: list[dict[str, Any]], path: Path) -> None:
    """Save ``family``'s figure (:func:`family_figure`) to ``path`` as a PNG without software metadata,
    so the same inputs give the same bytes; cropped to what is drawn (``bbox_inches="tight"``)."""
    import matplotlib.style

    figure = family_figure(report, family, records)
    with matplotlib.style.context("default"):  # savefig reads rcParams too (dpi, colours, padding)
        save_atomic(
            path,
            lambda tmp: figure.savefig(
                tmp, format="png", metadata={"Software": None}, bbox_inches="tight", pad_inches=0.1
            ),
        )
