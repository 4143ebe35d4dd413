"""A leaderboard's learning curves: one ``curves_<family>.png`` per family, validation mean accuracy
after each step, mean over seeds with a 95% normal-approximation band."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from teachgym.bench.records import key
from teachgym.bench.report_model import Report
from teachgym.files import save_atomic

#: Two-sided 95% quantile of the standard normal, for the curves' bands (mean +- Z * standard error).
NORMAL_Z_95 = 1.959963984540054
#: Plot panels per row in a family's figure.
PANELS_PER_ROW = 3


def mean_curve(curves: Sequence[Sequence[dict[str, Any]]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, mean, half width of the 95% normal interval) of ``mean_accuracy`` over episodes.

    Episodes are aligned by ``step``; a step's statistics use the episodes that reached it. With one
    episode at a step the half width is 0.
    """
    by_step: dict[int, list[float]] = {}
    for curve in curves:
        for point in curve:
            if point.get("mean_accuracy") is not None:
                by_step.setdefault(int(point["step"]), []).append(float(point["mean_accuracy"]))
    steps = sorted(by_step)
    means, halves = [], []
    for step in steps:
        values = np.array(by_step[step])
        means.append(float(values.mean()))
        spread = float(values.std(ddof=1)) if values.size > 1 else 0.0
        halves.append(NORMAL_Z_95 * spread / math.sqrt(values.size))
    return np.array(steps, dtype=np.int64), np.array(means), np.array(halves)


def plot_family(report: Report, family: str, records: list[dict[str, Any]], path: Path) -> None:
    """Save ``family``'s figure (one panel per task, one line per teacher) to ``path`` as a PNG
    without software metadata, so the same inputs give the same bytes."""
    # Imported here: matplotlib is the optional `viz` extra, needed only to render a report.
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    tasks = report.families[family].tasks
    agents = [a for a in report.agents if any(r["agent"] == a for r in records)]
    num_cols = min(PANELS_PER_ROW, len(tasks))
    num_rows = math.ceil(len(tasks) / num_cols)
    # The "default" style ignores the user's matplotlibrc, so the bytes depend only on the inputs.
    with matplotlib.style.context("default"):
        figure = Figure(figsize=(4.6 * num_cols, 3.4 * num_rows + 0.9), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.subplots(num_rows, num_cols, squeeze=False)
        colors = matplotlib.colormaps["tab10" if len(report.agents) <= 10 else "tab20"]
        handles: dict[str, Any] = {}
        for index, task in enumerate(tasks):
            ax = axes[index // num_cols][index % num_cols]
            for agent in agents:
                curves = [
                    r["curve"]
                    for r in sorted(records, key=key)
                    if r["task"] == task and r["agent"] == agent and r["status"] == "ok"
                ]
                steps, mean, half = mean_curve(curves)
                if steps.size == 0:
                    continue
                color = colors(report.agents.index(agent) % colors.N)
                anchor = agent in report.anchors
                style = "--" if anchor else "-"
                label = agent + (" (anchor)" if anchor else "")
                (line,) = ax.plot(steps, mean, style, color=color, label=label, linewidth=1.5)
                ax.fill_between(steps, mean - half, mean + half, color=color, alpha=0.2, linewidth=0)
                handles.setdefault(label, line)
            ax.set_title(task, fontsize=9)
            ax.set_xlabel("step")
            ax.set_ylabel("validation mean accuracy")
            ax.grid(alpha=0.3)
        for index in range(len(tasks), num_rows * num_cols):
            axes[index // num_cols][index % num_cols].set_visible(False)
        figure.suptitle(f"{family}: mean over seeds, band = 95% normal-approximation interval", fontsize=10)
        if handles:
            figure.legend(
                list(handles.values()), list(handles), loc="outside lower center", ncols=min(len(handles), 4)
            )
        save_atomic(path, lambda tmp: figure.savefig(tmp, format="png", metadata={"Software": None}))
