"""Render a benchmark sweep's leaderboard: ``README.md``, ``curves_<family>.png`` and ``index.html``.

:func:`render` reads ``results.jsonl`` (records, see :mod:`teachgym.bench.records`) and
``suite.json`` (written by the runner: ``{"suite", "command", "commands", "env_ids", "agents",
"seeds", ...}``; ``env_ids`` are the suite's task names, matching the records' ``task``) from one
results folder and writes the report next to them. The output is a pure function of those two
files and the bootstrap settings: no timestamps, no absolute paths, PNGs saved without software
metadata, so CI can re-render a committed leaderboard and fail on any difference.

Teachers are ranked first by the number of the suite's tasks they ran, then by the aggregate
interquartile mean (IQM) of normalized scores over every successful episode of those tasks, with 95%
stratified bootstrap intervals
(:mod:`teachgym.bench.stats`). Reference agents (records with ``reference: true``, e.g. ``oracle``)
read privileged state: they are listed apart and never ranked. Each episode counts once, by its
effective record (:func:`teachgym.bench.records.effective_records`: a successful retry supersedes
failed attempts). Failed episodes are listed, and a teacher with failures is marked; its statistics
use its successful episodes only.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from teachgym.bench import stats
from teachgym.bench.records import effective_records, key, read_records
from teachgym.errors import ConfigError

RESULTS_FILE = "results.jsonl"
SUITE_FILE = "suite.json"
#: The teacher the probability of improvement compares against.
BASELINE = "uniform"
CONFIDENCE = 0.95
#: Two-sided 95% quantile of the standard normal, for the curves' bands (mean +- Z * standard error).
NORMAL_Z_95 = 1.959963984540054
#: Marks a teacher with failed episodes in the ranked table.
FAILURE_MARK = "†"
#: Longest error message shown in the failures table (characters); the record keeps all of it.
MAX_ERROR_CHARS = 300
#: Plot panels per row in a family's figure.
PANELS_PER_ROW = 3


@dataclass(frozen=True)
class Suite:
    """The runner's ``suite.json``: what was swept and the command that regenerates it."""

    name: str
    commands: tuple[str, ...]  # every command that added results, the first one first
    tasks: tuple[str, ...]  # task names (``suite.json``'s ``env_ids``), e.g. "SkillList-Sim-v0[forgetting]"
    agents: tuple[str, ...]  # as requested; may be ("all",)
    num_seeds: int


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its interval ``[low, high]`` (units of the estimate)."""

    value: float
    low: float
    high: float

    def text(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


@dataclass(frozen=True)
class TeacherRow:
    """One teacher's suite-wide statistics (None where it has no successful episode)."""

    agent: str
    reference: bool
    iqm: Estimate | None
    mean: Estimate | None
    improvement: Estimate | None  # P(teacher > BASELINE); None for the baseline itself
    num_episodes: int  # successful episodes
    num_failures: int
    num_tasks: int  # tasks with at least one successful episode


@dataclass(frozen=True)
class EnvRow:
    """One (task, teacher) cell of a family table: statistics over seeds."""

    family: str
    task: str
    agent: str
    reference: bool
    summary: stats.Summary | None
    test_accuracy: float | None  # mean over successful episodes
    num_failures: int


@dataclass(frozen=True)
class Report:
    """Everything the README and the page show, computed once."""

    suite: Suite
    rerender_command: str
    records: list[dict[str, Any]]  # one per (task, agent, seed): see records.effective_records
    agents: list[str]  # every agent in the records, sorted
    ranked: list[TeacherRow]
    references: list[TeacherRow]
    families: dict[str, list[str]]  # family -> its tasks, in suite order
    env_rows: list[EnvRow]
    failures: list[dict[str, Any]]
    missing: list[tuple[str, str, int]]  # (task, agent, missing episodes) of pairs that ran
    num_records: int
    num_superseded: int
    versions: Counter[str]
    revisions: Counter[str]
    reps: int
    seed: int


# --- inputs -------------------------------------------------------------------------------------


def read_suite(path: Path) -> Suite:
    """The runner's ``suite.json``, or a ConfigError naming the file and the bad key."""
    if not path.exists():
        raise ConfigError(f"{path}: no suite file; the sweep runner writes it next to {RESULTS_FILE}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: not JSON ({error.msg} at line {error.lineno})") from None
    expected = {"suite": str, "command": str, "env_ids": list, "agents": list, "seeds": int}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object with keys {sorted(expected)}")
    for name, kind in expected.items():
        value = data.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ConfigError(f"{path}: {name}={value!r}; expected a {kind.__name__}")
    commands = data.get("commands", [data["command"]])
    for name, value in (("env_ids", data["env_ids"]), ("agents", data["agents"]), ("commands", commands)):
        if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{path}: {name}={value!r}; expected a non-empty list of strings")
    if data["command"] not in commands:
        commands = [data["command"], *commands]
    return Suite(data["suite"], tuple(commands), tuple(data["env_ids"]), tuple(data["agents"]), data["seeds"])


def _rerender_path(results_dir: Path) -> str:
    """``results_dir`` relative to the enclosing project (the first parent with ``pyproject.toml`` or
    ``.git``), so the README does not depend on the working directory; as given if there is none."""
    resolved = results_dir.resolve()
    for parent in resolved.parents:
        if (parent / "pyproject.toml").exists() or (parent / ".git").exists():
            return resolved.relative_to(parent).as_posix()
    return results_dir.as_posix()


def _check_against_suite(records: list[dict[str, Any]], suite: Suite, where: Path) -> None:
    checks = [("suite", (suite.name,)), ("task", suite.tasks)]
    if "all" not in suite.agents:
        checks.append(("agent", suite.agents))
    for field, declared in checks:
        unknown = sorted({record[field] for record in records} - set(declared))
        if unknown:
            raise ConfigError(
                f"{where}: records with {field} {unknown} that {SUITE_FILE} does not declare "
                f"(expected one of {list(declared)})"
            )


# --- statistics ---------------------------------------------------------------------------------


def _scores_by_task(records: list[dict[str, Any]], tasks: Sequence[str]) -> dict[Hashable, np.ndarray]:
    """task -> per-seed scores (sorted by seed) of successful episodes; tasks without one left out."""
    scores: dict[Hashable, np.ndarray] = {}
    for task in tasks:
        ok = sorted((r for r in records if r["task"] == task and r["status"] == "ok"), key=key)
        if ok:
            scores[task] = np.array([float(r["score"]) for r in ok])
    return scores


def _estimate(
    scores: dict[Hashable, np.ndarray], statistic: Callable[..., float], reps: int, seed: int
) -> Estimate:
    low, high = stats.stratified_bootstrap_ci(scores, statistic, reps=reps, confidence=CONFIDENCE, seed=seed)
    return Estimate(statistic(scores), low, high)


def _teacher_row(
    agent: str,
    records: list[dict[str, Any]],
    baseline: dict[Hashable, np.ndarray] | None,
    suite: Suite,
    reps: int,
    seed: int,
) -> TeacherRow:
    scores = _scores_by_task(records, suite.tasks)
    iqm = mean = improvement = None
    if scores:
        iqm = _estimate(scores, stats.aggregate_iqm, reps, seed)
        mean = _estimate(scores, stats.aggregate_mean, reps, seed)
        if baseline and agent != BASELINE and set(scores) & set(baseline):
            low, high = stats.probability_of_improvement_ci(
                scores, baseline, reps=reps, confidence=CONFIDENCE, seed=seed
            )
            improvement = Estimate(stats.probability_of_improvement(scores, baseline), low, high)
    return TeacherRow(
        agent=agent,
        reference=any(r["reference"] for r in records),
        iqm=iqm,
        mean=mean,
        improvement=improvement,
        num_episodes=sum(r["status"] == "ok" for r in records),
        num_failures=sum(r["status"] == "failed" for r in records),
        num_tasks=len(scores),
    )


def _env_row(
    family: str, task: str, agent: str, records: list[dict[str, Any]], reps: int, seed: int
) -> EnvRow:
    ok = sorted((r for r in records if r["status"] == "ok"), key=key)
    accuracies = [float(r["test_accuracy"]) for r in ok if r["test_accuracy"] is not None]
    return EnvRow(
        family=family,
        task=task,
        agent=agent,
        reference=any(r["reference"] for r in records),
        summary=stats.summarize([float(r["score"]) for r in ok], reps=reps, seed=seed) if ok else None,
        test_accuracy=float(np.mean(accuracies)) if accuracies else None,
        num_failures=len(records) - len(ok),
    )


def build_report(results_dir: Path, *, reps: int = 2000, seed: int = 0) -> Report:
    """The statistics of a results folder (see :func:`render`), without writing anything."""
    results_dir = Path(results_dir)
    suite = read_suite(results_dir / SUITE_FILE)
    results = results_dir / RESULTS_FILE
    if not results.exists():
        raise ConfigError(f"{results}: no results file; run the sweep first ({suite.commands[0]})")
    all_records = read_records(results)  # SchemaError naming path:line on a bad line
    if not all_records:
        raise ConfigError(
            f"{results}: the results file holds no records; run the sweep first ({suite.commands[0]})"
        )
    _check_against_suite(all_records, suite, results)
    records = effective_records(all_records)  # one per (task, agent, seed); retried failures dropped
    num_superseded = len(all_records) - len(records)

    agents = sorted({r["agent"] for r in records})
    by_agent = {a: [r for r in records if r["agent"] == a] for a in agents}
    baseline = by_agent.get(BASELINE)
    baseline_scores = _scores_by_task(baseline, suite.tasks) if baseline else None
    rows = [_teacher_row(a, rs, baseline_scores, suite, reps, seed) for a, rs in by_agent.items()]
    # Coverage first: a score pooled over one task must not outrank one pooled over every task (a
    # teacher for one family is compared with the others in that family's table).
    ranked = sorted(
        (row for row in rows if not row.reference),
        key=lambda row: (
            row.iqm is None,
            -row.num_tasks,
            -(row.iqm.value if row.iqm else 0.0),
            row.agent,
        ),
    )

    task_family = {r["task"]: r["family"] for r in records}
    families: dict[str, list[str]] = {}
    for task in suite.tasks:
        if task in task_family:
            families.setdefault(task_family[task], []).append(task)
    env_rows = []
    missing = []
    for family, tasks in families.items():
        for task in tasks:
            for agent, agent_records in by_agent.items():
                cell = [r for r in agent_records if r["task"] == task]
                # Only pairs that ran: the runner skips teachers that do not support a task.
                if cell:
                    env_rows.append(_env_row(family, task, agent, cell, reps, seed))
                if cell and len(cell) < suite.num_seeds:
                    missing.append((task, agent, suite.num_seeds - len(cell)))

    order = {name: i for i, name in enumerate(suite.tasks)}
    failures = sorted(
        (r for r in records if r["status"] == "failed"),
        key=lambda r: (order[r["task"]], r["agent"], r["seed"]),
    )
    return Report(
        suite=suite,
        rerender_command=f"teachgym leaderboard {_rerender_path(results_dir)}",
        records=records,
        agents=agents,
        ranked=ranked,
        references=[row for row in rows if row.reference],
        families=families,
        env_rows=env_rows,
        failures=failures,
        missing=missing,
        num_records=len(records),
        num_superseded=num_superseded,
        versions=Counter(r["version"] for r in records),
        revisions=Counter(r["git_revision"] or "not recorded" for r in records),
        reps=reps,
        seed=seed,
    )


# --- text helpers -------------------------------------------------------------------------------


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _estimate_text(estimate: Estimate | None) -> str:
    return "—" if estimate is None else estimate.text()


def _summary_iqm(summary: stats.Summary | None) -> Estimate | None:
    if summary is None:
        return None
    return Estimate(summary["iqm"], *summary["iqm_ci"])


def _error_text(record: dict[str, Any]) -> str:
    text = " ".join(str(record["error"] or "no error message").split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def _file_stem(family: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", family)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"`{name}` ({count} records)" for name, count in sorted(counter.items()))


TEACHER_COLUMNS = (
    # (data-sort key, header, type)
    ("rank", "Rank", "number"),
    ("teacher", "Teacher", "text"),
    ("score", "Score IQM [95% CI]", "number"),
    ("mean", "Score mean [95% CI]", "number"),
    ("improvement", f"P(better than {BASELINE}) [95% CI]", "number"),
    ("tasks", "Tasks", "number"),
    ("episodes", "Episodes", "number"),
    ("failures", "Failures", "number"),
)
ENV_COLUMNS = (
    ("family", "Family", "text"),
    ("task", "Task", "text"),
    ("teacher", "Teacher", "text"),
    ("mean", "Mean score", "number"),
    ("score", "Score IQM [95% CI]", "number"),
    ("accuracy", "Mean test accuracy", "number"),
    ("episodes", "Episodes", "number"),
    ("failures", "Failures", "number"),
)


def _teacher_cells(row: TeacherRow, rank: int | None, num_tasks: int) -> list[tuple[str, float | str | None]]:
    """(text, sort value) of each of :data:`TEACHER_COLUMNS`."""
    name = row.agent + (f" {FAILURE_MARK}" if row.num_failures else "")
    return [
        ("" if rank is None else str(rank), rank),
        (name, row.agent),
        (_estimate_text(row.iqm), row.iqm.value if row.iqm else None),
        (_estimate_text(row.mean), row.mean.value if row.mean else None),
        (_estimate_text(row.improvement), row.improvement.value if row.improvement else None),
        (f"{row.num_tasks}/{num_tasks}", row.num_tasks),
        (str(row.num_episodes), row.num_episodes),
        (str(row.num_failures), row.num_failures),
    ]


def _env_cells(row: EnvRow) -> list[tuple[str, float | str | None]]:
    """(text, sort value) of each of :data:`ENV_COLUMNS`."""
    summary = row.summary
    iqm = _summary_iqm(summary)
    name = (
        row.agent
        + (" (reference)" if row.reference else "")
        + (f" {FAILURE_MARK}" if row.num_failures else "")
    )
    return [
        (row.family, row.family),
        (row.task, row.task),
        (name, row.agent),
        (_number(summary["mean"] if summary else None), summary["mean"] if summary else None),
        (_estimate_text(iqm), iqm.value if iqm else None),
        (_number(row.test_accuracy), row.test_accuracy),
        (str(summary["n"] if summary else 0), summary["n"] if summary else 0),
        (str(row.num_failures), row.num_failures),
    ]


def _method_notes(report: Report) -> list[str]:
    num_tasks = len(report.suite.tasks)
    return [
        f"Scores are each family's normalized score (0 = the random teacher's mean test accuracy, "
        f"1 = the task's reference teacher's). Teachers are ranked first by the number of "
        f"the suite's {num_tasks} tasks they ran (the Tasks column: a score pooled over one family's task "
        f"does not outrank one over every task; the family tables compare teachers within a family), "
        f"then by the interquartile mean (IQM) of the scores of all their successful episodes on those "
        f"tasks, pooled; the mean is the mean over tasks of each task's mean over seeds. Brackets are "
        f"{CONFIDENCE:.0%} percentile intervals of a stratified bootstrap (seeds resampled within each "
        f"task; {report.reps} resamples, seed {report.seed}).",
        f"P(better than {BASELINE}) is the probability of improvement: the chance that an episode of the "
        f"teacher scores higher than one of `{BASELINE}` on the same task (ties count half), averaged "
        "over the tasks both ran.",
        f"{FAILURE_MARK} marks a teacher with failed episodes (see Failures); its statistics use its "
        "successful episodes only.",
    ]


def _curve_note() -> str:
    return (
        "Curves: validation mean accuracy after each step, mean over seeds; the band is a 95% "
        "normal-approximation interval (mean ± 1.96 standard errors over seeds)."
    )


# --- README -------------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[bool]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    lines += ["| " + " | ".join(_md_cell(cell) for cell in row) + " |" for row in rows]
    return lines


def _teacher_table(rows: list[TeacherRow], ranked: bool, num_tasks: int) -> list[str]:
    columns = TEACHER_COLUMNS if ranked else TEACHER_COLUMNS[1:]
    body = []
    for rank, row in enumerate(rows, start=1):
        cells = _teacher_cells(row, rank, num_tasks)
        body.append([text for text, _ in (cells if ranked else cells[1:])])
    return _md_table([c[1] for c in columns], body, [c[2] == "number" for c in columns])


def _readme(report: Report) -> str:
    suite = report.suite
    lines = [
        f"# Leaderboard: {suite.name}",
        "",
        f"<!-- Generated by teachgym.bench.report from {RESULTS_FILE} and {SUITE_FILE}; do not edit. -->",
        "",
        f"{len(suite.tasks)} tasks x {len(report.agents)} teachers x {suite.num_seeds} seeds; "
        f"{report.num_records} episodes recorded. Open `index.html` for a sortable page.",
        "",
        "Regenerate the results"
        + (" (every command that added to them, in order):" if len(suite.commands) > 1 else ":"),
        "",
        "```sh",
        *suite.commands,
        "```",
        "",
        "Re-render this report from them:",
        "",
        "```sh",
        report.rerender_command,
        "```",
        "",
        "## Ranking",
        "",
        *_teacher_table(report.ranked, ranked=True, num_tasks=len(suite.tasks)),
        "",
        *[line for note in _method_notes(report) for line in (note, "")],
    ]
    partial = [row.agent for row in report.ranked if row.num_tasks < len(suite.tasks)]
    if partial:
        lines += [
            f"Ranked over fewer than the suite's {len(suite.tasks)} tasks (no successful episode on some, "
            f"or the teacher does not support them; see the Tasks column): {', '.join(partial)}.",
            "",
        ]
    lines += ["## Reference agents (not ranked)", ""]
    if report.references:
        lines += [
            "These agents read privileged state (e.g. the student's true skills); they bound what a "
            "teacher can reach and are never ranked.",
            "",
            *_teacher_table(report.references, ranked=False, num_tasks=len(suite.tasks)),
            "",
        ]
    else:
        lines += ["None ran.", ""]
    lines += ["## Families", "", _curve_note(), ""]
    for family in report.families:
        rows = [row for row in report.env_rows if row.family == family]
        columns = ENV_COLUMNS[1:]
        body = [[text for text, _ in _env_cells(row)[1:]] for row in rows]
        lines += [
            f"### {family}",
            "",
            *_md_table([c[1] for c in columns], body, [c[2] == "number" for c in columns]),
            "",
            f"![{family}: validation accuracy per step](curves_{_file_stem(family)}.png)",
            "",
        ]
    lines += ["## Failures", ""]
    if report.failures:
        body = [[r["task"], r["agent"], str(r["seed"]), _error_text(r)] for r in report.failures]
        lines += [*_md_table(["Task", "Teacher", "Seed", "Error"], body, [False, False, True, False]), ""]
    else:
        lines += ["No failed episodes.", ""]
    if report.missing:
        body = [[task, agent, str(count)] for task, agent, count in report.missing]
        lines += [
            f"Missing episodes (fewer than {suite.num_seeds} seeds recorded; the sweep is incomplete):",
            "",
            *_md_table(["Task", "Teacher", "Missing"], body, [False, False, True]),
            "",
        ]
    lines += [
        "## Provenance",
        "",
        f"- teachgym versions: {_counts(report.versions)}",
        f"- git revisions: {_counts(report.revisions)}",
        f"- records: {report.num_records} episodes"
        + (
            f" ({report.num_superseded} superseded attempts not counted, e.g. failures a rerun retried)"
            if report.num_superseded
            else ""
        ),
        f"- statistics: `teachgym.bench.stats`, {report.reps} bootstrap resamples, seed {report.seed}",
        "",
    ]
    return "\n".join(lines)


# --- curves -------------------------------------------------------------------------------------


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


def _plot_family(report: Report, family: str, records: list[dict[str, Any]], path: Path) -> None:
    # Imported here: matplotlib is the optional `viz` extra, needed only to render a report.
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    tasks = report.families[family]
    agents = [a for a in report.agents if any(r["agent"] == a for r in records)]
    references = {r["agent"] for r in records if r["reference"]}
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
                style = "--" if agent in references else "-"
                label = agent + (" (reference)" if agent in references else "")
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
        figure.savefig(path, format="png", metadata={"Software": None})


# --- page ---------------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
th[data-sort] { cursor: pointer; user-select: none; background: #f4f4f4; }
th[aria-sort="ascending"]::after { content: " \\25B2"; }
th[aria-sort="descending"]::after { content: " \\25BC"; }
code, pre { background: #f4f4f4; padding: 0.1rem 0.3rem; }
pre { padding: 0.6rem; overflow-x: auto; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; }
.note { color: #555; font-size: 0.9rem; }
"""

# Sorting and the family filter; the state also lives in the URL hash (#sort=KEY-asc&family=NAME),
# applied on load, so a link (or a headless browser) reproduces a view without clicking.
_JS = """
"use strict";
(function () {
  function cellValue(row, index, type) {
    var raw = row.cells[index].getAttribute("data-value");
    if (raw === null || raw === "") return null;
    return type === "number" ? parseFloat(raw) : raw;
  }
  function sortTable(table, key, direction) {
    var headers = table.tHead.rows[0].cells, index = -1, type = "text";
    for (var i = 0; i < headers.length; i++) {
      headers[i].removeAttribute("aria-sort");
      if (headers[i].getAttribute("data-sort") === key) {
        index = i;
        type = headers[i].getAttribute("data-type");
      }
    }
    if (index < 0) return false;
    headers[index].setAttribute("aria-sort", direction === "asc" ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var sign = direction === "asc" ? 1 : -1;
    rows.sort(function (a, b) {
      var x = cellValue(a, index, type), y = cellValue(b, index, type);
      if (x === null || y === null) return (x === null ? 1 : 0) - (y === null ? 1 : 0);
      if (x < y) return -sign;
      if (x > y) return sign;
      return 0;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    table.setAttribute("data-sorted", key + "-" + direction);
    return true;
  }
  function filterFamily(name) {
    var select = document.getElementById("family-filter");
    var known = Array.prototype.some.call(select.options, function (o) { return o.value === name; });
    var family = known ? name : "all";
    select.value = family;
    document.querySelectorAll("[data-family]").forEach(function (element) {
      element.hidden = family !== "all" && element.getAttribute("data-family") !== family;
    });
  }
  function readHash() {
    var state = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var at = part.indexOf("=");
      if (at > 0) state[decodeURIComponent(part.slice(0, at))] = decodeURIComponent(part.slice(at + 1));
    });
    return state;
  }
  function writeHash() {
    var ranking = document.getElementById("ranking");
    var parts = ["sort=" + encodeURIComponent(ranking.getAttribute("data-sorted") || "score-desc")];
    var family = document.getElementById("family-filter").value;
    if (family !== "all") parts.push("family=" + encodeURIComponent(family));
    try { history.replaceState(null, "", "#" + parts.join("&")); } catch (error) { /* file: URLs */ }
  }
  function applyHash() {
    var state = readHash();
    if (state.sort) {
      var cut = state.sort.lastIndexOf("-");
      var direction = state.sort.slice(cut + 1);
      if (cut > 0 && (direction === "asc" || direction === "desc")) {
        sortTable(document.getElementById("ranking"), state.sort.slice(0, cut), direction);
      }
    }
    filterFamily(state.family || "all");
  }
  document.querySelectorAll("table.sortable th[data-sort]").forEach(function (header) {
    header.addEventListener("click", function () {
      var table = header.closest("table"), key = header.getAttribute("data-sort");
      var current = table.getAttribute("data-sorted");
      var first = header.getAttribute("data-type") === "number" ? "desc" : "asc";
      var direction = current === key + "-" + first ? (first === "asc" ? "desc" : "asc") : first;
      sortTable(table, key, direction);
      if (table.id === "ranking") writeHash();
    });
  });
  document.getElementById("family-filter").addEventListener("change", function (event) {
    filterFamily(event.target.value);
    writeHash();
  });
  window.addEventListener("hashchange", applyHash);
  applyHash();
})();
"""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _html_table(
    table_id: str,
    columns: Sequence[tuple[str, str, str]],
    rows: Sequence[tuple[dict[str, str], list[tuple[str, float | str | None]]]],
    sorted_by: str | None,
) -> list[str]:
    """A sortable table; each row is (its ``tr`` attributes, (text, sort value) per column)."""
    attribute = f' data-sorted="{sorted_by}"' if sorted_by else ""
    lines = [f'<table id="{table_id}" class="sortable"{attribute}>', "<thead><tr>"]
    for sort_key, header, kind in columns:
        aria = ' aria-sort="descending"' if sorted_by == f"{sort_key}-desc" else ""
        lines.append(f'<th data-sort="{sort_key}" data-type="{kind}"{aria}>{_esc(header)}</th>')
    lines += ["</tr></thead>", "<tbody>"]
    for attributes, cells in rows:
        tr = "".join(f' {name}="{_esc(value)}"' for name, value in attributes.items())
        tds = []
        for (text, value), (_, _, kind) in zip(cells, columns, strict=True):
            data = "" if value is None else (repr(float(value)) if kind == "number" else str(value))
            css = ' class="number"' if kind == "number" else ""
            tds.append(f'<td{css} data-value="{_esc(data)}">{_esc(text)}</td>')
        lines.append(f"<tr{tr}>" + "".join(tds) + "</tr>")
    lines += ["</tbody>", "</table>"]
    return lines


def _plain_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["<table>", "<thead><tr>" + "".join(f"<th>{_esc(h)}</th>" for h in header) + "</tr></thead>"]
    lines += ["<tbody>"] + ["<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows]
    return [*lines, "</tbody>", "</table>"]


def _page(report: Report, images: dict[str, bytes]) -> str:
    suite = report.suite
    ranked_rows = [
        ({"data-teacher": row.agent}, _teacher_cells(row, rank, len(suite.tasks)))
        for rank, row in enumerate(report.ranked, start=1)
    ]
    reference_rows = [
        ({"data-teacher": row.agent}, _teacher_cells(row, None, len(suite.tasks))[1:])
        for row in report.references
    ]
    env_rows = [
        ({"data-family": row.family, "data-teacher": row.agent}, _env_cells(row)) for row in report.env_rows
    ]
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>teachgym leaderboard: {_esc(suite.name)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>Leaderboard: {_esc(suite.name)}</h1>",
        f'<p class="note">{len(suite.tasks)} tasks x {len(report.agents)} teachers x {suite.num_seeds} '
        f"seeds; {report.num_records} episodes recorded. Generated by teachgym.bench.report; "
        "do not edit.</p>",
        f"<p>Regenerate the results:</p><pre><code>{_esc(chr(10).join(suite.commands))}</code></pre>",
        f"<p>Re-render this page:</p><pre><code>{_esc(report.rerender_command)}</code></pre>",
        "<h2>Ranking</h2>",
        *_html_table("ranking", TEACHER_COLUMNS, ranked_rows, "score-desc"),
        *[f'<p class="note">{_esc(note)}</p>' for note in _method_notes(report)],
        "<h2>Reference agents (not ranked)</h2>",
        *(
            _html_table("references", TEACHER_COLUMNS[1:], reference_rows, None)
            if reference_rows
            else ["<p>None ran.</p>"]
        ),
        "<h2>Families</h2>",
        '<p><label for="family-filter">Family: </label><select id="family-filter">',
        '<option value="all">all</option>',
        *[f'<option value="{_esc(f)}">{_esc(f)}</option>' for f in report.families],
        "</select></p>",
        *_html_table("families", ENV_COLUMNS, env_rows, None),
        f'<p class="note">{_esc(_curve_note())}</p>',
    ]
    for family in report.families:
        data = base64.b64encode(images[family]).decode("ascii")
        lines += [
            f'<figure data-family="{_esc(family)}">',
            f'<img alt="{_esc(family)}: validation accuracy per step" src="data:image/png;base64,{data}">',
            f"<figcaption>{_esc(family)}</figcaption>",
            "</figure>",
        ]
    lines += ["<h2>Failures</h2>"]
    if report.failures:
        body = [[r["task"], r["agent"], str(r["seed"]), _error_text(r)] for r in report.failures]
        lines += _plain_table(["Task", "Teacher", "Seed", "Error"], body)
    else:
        lines += ["<p>No failed episodes.</p>"]
    if report.missing:
        lines += [f"<p>Missing episodes (fewer than {suite.num_seeds} seeds recorded):</p>"]
        lines += _plain_table(["Task", "Teacher", "Missing"], [[e, a, str(n)] for e, a, n in report.missing])
    lines += [
        "<h2>Provenance</h2>",
        "<ul>",
        f"<li>teachgym versions: {_esc(_counts(report.versions).replace('`', ''))}</li>",
        f"<li>git revisions: {_esc(_counts(report.revisions).replace('`', ''))}</li>",
        f"<li>statistics: teachgym.bench.stats, {report.reps} bootstrap resamples, seed {report.seed}</li>",
        "</ul>",
        f"<script>{_JS}</script>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(lines)


# --- entry point --------------------------------------------------------------------------------


def render(results_dir: Path, *, reps: int = 2000, seed: int = 0) -> list[Path]:
    """Write the leaderboard of ``results_dir`` into it; the paths written, in a fixed order.

    Reads ``results.jsonl`` and ``suite.json`` and writes ``README.md``, one ``curves_<family>.png``
    per family and ``index.html`` (self-contained: inline CSS and JS, PNGs as data URIs). The same
    inputs and settings give byte-identical files.

    Args:
        results_dir: the folder of one sweep.
        reps: bootstrap resamples per interval.
        seed: seed of every bootstrap (each interval uses ``np.random.default_rng(seed)``).

    Raises:
        SchemaError: a line of ``results.jsonl`` is not a valid record (the message names ``path:line``).
        ConfigError: no results or an empty results file; ``suite.json`` missing or malformed; records
            of a task, teacher or suite that ``suite.json`` does not declare.
    """
    results_dir = Path(results_dir)
    report = build_report(results_dir, reps=reps, seed=seed)
    written = []
    images = {}
    for family in report.families:
        path = results_dir / f"curves_{_file_stem(family)}.png"
        _plot_family(report, family, [r for r in report.records if r["family"] == family], path)
        images[family] = path.read_bytes()
        written.append(path)
    readme = results_dir / "README.md"
    readme.write_text(_readme(report), encoding="utf-8", newline="\n")
    page = results_dir / "index.html"
    page.write_text(_page(report, images), encoding="utf-8", newline="\n")
    return [readme, *written, page]
