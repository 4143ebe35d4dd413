"""Render a benchmark sweep's leaderboard: ``README.md``, ``curves_<family>.png`` and ``index.html``.

:func:`render` reads ``results.jsonl`` (records, see :mod:`teachgym.bench.records`), ``suite.json``
(written by the runner: ``{"suite", "command", "commands", "env_ids", "agents", "seeds", ...}``;
``env_ids`` are the suite's task names, matching the records' ``task``) and, if present,
``anchors.json`` (only each task's ``reference_agent``, which old and new anchor files both hold)
from one results folder and writes the report next to them. The output is a pure function of those
files and the bootstrap settings: no timestamps, no absolute paths, PNGs saved without software
metadata, so CI can re-render a committed leaderboard and fail on any difference. The README and the
page are both written from one :class:`Report`.

What the report shows (the rules of ``BENCHMARK.md``):

- Per task, each teacher's **paired difference to** ``uniform``, the first number of its row: the
  mean over the seeds both ran of the per-seed difference in test accuracy (the same seed is the same
  student under every teacher) with a 95% Student t interval over those seeds
  (:func:`teachgym.bench.stats.paired_difference`); then its mean test accuracy (raw); and the task's
  minimum detectable effect, :data:`teachgym.bench.stats.MDE_FACTOR` x the median over its teachers
  of their paired standard errors against ``uniform``
  (:func:`teachgym.bench.stats.minimum_detectable_effect`).
- **Anchor teachers**, ``random`` and each task's reference teacher (records with ``reference: true``,
  e.g. ``oracle``, and ``anchors.json``'s ``reference_agent``), define a score's 0 and 1: they are
  listed apart and never ranked.
- The suite's **ranking** covers the other teachers that ran (a successful episode on) every task of
  the suite, by the aggregate interquartile mean (IQM) of their normalized scores with 95% stratified
  bootstrap intervals (:mod:`teachgym.bench.stats`); teachers that ran only some tasks are listed
  apart, not ranked. Each family's table ranks, in the same way, the teachers that ran every task of
  the family. Scores are used as stored, never clipped.
- Every table says its order (a sentence with it, and the sorted column's header says the direction);
  the curves put the training examples taught on the x axis, one style per teacher in every figure.

Each episode counts once, by its effective record (:func:`teachgym.bench.records.effective_records`:
a successful retry supersedes failed attempts). Failed episodes are listed, and a teacher with
failures is marked; its statistics use its successful episodes only.

The work is split by output, one module each: :mod:`~teachgym.bench.report_build` reads the folder and
computes the :class:`Report` (:mod:`~teachgym.bench.report_model`);
:mod:`~teachgym.bench.report_markdown`, :mod:`~teachgym.bench.report_curves` and
:mod:`~teachgym.bench.report_page` (with its stylesheet and script in ``teachgym/bench/page/``) write
the README, the PNGs and the page, taking their shared wording from :mod:`~teachgym.bench.report_text`.
This module is the entry point and re-exports the public names of those modules.
"""

from __future__ import annotations

from pathlib import Path

from teachgym.bench import calibration
from teachgym.bench.report_build import build_report, project_path, read_reference_agents, read_suite
from teachgym.bench.report_curves import NORMAL_Z_95, PANELS_PER_ROW, mean_curve, plot_family
from teachgym.bench.report_markdown import readme_text
from teachgym.bench.report_model import (
    ANCHORS_FILE,
    BASELINE,
    CONFIDENCE,
    RANDOM,
    RESULTS_FILE,
    SUITE_FILE,
    Estimate,
    Family,
    Report,
    Suite,
    TaskRow,
    TaskSummary,
    TeacherRow,
)
from teachgym.bench.report_page import page_html
from teachgym.bench.report_text import (
    FAILURE_MARK,
    MAX_ERROR_CHARS,
    SUMMARY_HEADER,
    TASK_COLUMNS,
    TEACHER_COLUMNS,
    file_stem,
)
from teachgym.files import write_atomic

__all__ = [
    "ANCHORS_FILE",
    "BASELINE",
    "CONFIDENCE",
    "FAILURE_MARK",
    "MAX_ERROR_CHARS",
    "NORMAL_Z_95",
    "PANELS_PER_ROW",
    "RANDOM",
    "RESULTS_FILE",
    "SUITE_FILE",
    "SUMMARY_HEADER",
    "TASK_COLUMNS",
    "TEACHER_COLUMNS",
    "Estimate",
    "Family",
    "Report",
    "Suite",
    "TaskRow",
    "TaskSummary",
    "TeacherRow",
    "build_report",
    "mean_curve",
    "project_path",
    "read_reference_agents",
    "read_suite",
    "render",
]


def render(results_dir: Path, *, reps: int = 2000, seed: int = 0) -> list[Path]:
    """Write the leaderboard of ``results_dir`` into it; the paths written, in a fixed order.

    Reads ``results.jsonl``, ``suite.json`` and (if present) ``anchors.json``, and writes
    ``README.md``, one ``curves_<family>.png`` per family, ``index.html`` (self-contained: inline
    CSS and JS, PNGs as data URIs) and, when ``anchors.json`` names each task's reference,
    ``CALIBRATION.md`` (:mod:`teachgym.bench.calibration`: does teaching matter on each task). The same
    inputs and settings give byte-identical files.

    Args:
        results_dir: the folder of one sweep.
        reps: bootstrap resamples per interval.
        seed: seed of every bootstrap (each interval uses ``np.random.default_rng(seed)``).

    Raises:
        SchemaError: a line of ``results.jsonl`` is not a valid record (the message names ``path:line``).
        ConfigError: no results or an empty results file; ``suite.json`` missing or malformed;
            ``anchors.json`` malformed; records of a task, teacher or suite that ``suite.json`` does
            not declare.
    """
    results_dir = Path(results_dir)
    report = build_report(results_dir, reps=reps, seed=seed)
    written = []
    images = {}
    for family in report.families:
        path = results_dir / f"curves_{file_stem(family)}.png"
        plot_family(report, family, [r for r in report.records if r["family"] == family], path)
        images[family] = path.read_bytes()
        written.append(path)
    readme = results_dir / "README.md"
    write_atomic(readme, readme_text(report))
    page = results_dir / "index.html"
    write_atomic(page, page_html(report, images))
    if not (results_dir / "anchors.json").exists():  # the calibration table needs each task's reference
        return [readme, *written, page]
    table = calibration.write_table(
        results_dir, calibration.baselines_of(report.suite.name), report.rerender_command
    )
    return [readme, *written, page, table]
