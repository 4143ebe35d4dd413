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

- Per task, each teacher's mean test accuracy (raw) and its **paired difference to** ``uniform``: the
  mean over the seeds both ran of the per-seed difference (the same seed is the same student under
  every teacher) with a 95% Student t interval over those seeds
  (:func:`teachgym.bench.stats.paired_difference`); and the task's minimum detectable effect,
  :data:`teachgym.bench.stats.MDE_FACTOR` x the median over its teachers of their paired standard
  errors against ``uniform`` (:func:`teachgym.bench.stats.minimum_detectable_effect`).
- **Anchor teachers**, ``random`` and each task's reference teacher (records with ``reference: true``,
  e.g. ``oracle``, and ``anchors.json``'s ``reference_agent``), define a score's 0 and 1: they are
  listed apart and never ranked.
- The suite's **ranking** covers the other teachers that ran (a successful episode on) every task of
  the suite, by the aggregate interquartile mean (IQM) of their normalized scores with 95% stratified
  bootstrap intervals (:mod:`teachgym.bench.stats`); teachers that ran only some tasks are listed
  apart, not ranked. Each family's table ranks, in the same way, the teachers that ran every task of
  the family. Scores are used as stored, never clipped.

Each episode counts once, by its effective record (:func:`teachgym.bench.records.effective_records`:
a successful retry supersedes failed attempts). Failed episodes are listed, and a teacher with
failures is marked; its statistics use its successful episodes only.
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

from teachgym.bench import calibration, stats
from teachgym.bench.records import effective_records, key, read_records
from teachgym.errors import ConfigError

RESULTS_FILE = "results.jsonl"
SUITE_FILE = "suite.json"
ANCHORS_FILE = "anchors.json"
#: The teacher every paired difference and the probability of improvement compare against.
BASELINE = "uniform"
#: The teacher whose mean test accuracy scores 0: always an anchor, never ranked.
RANDOM = "random"
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
    """One teacher's statistics over a set of tasks (None where it has no successful episode)."""

    agent: str
    reference: bool  # reads privileged state (records with ``reference: true``)
    iqm: Estimate | None
    mean: Estimate | None
    improvement: Estimate | None  # P(teacher > BASELINE); None for the baseline itself
    num_episodes: int  # successful episodes
    num_failures: int
    num_tasks: int  # tasks with at least one successful episode


@dataclass(frozen=True)
class TaskRow:
    """One (task, teacher) cell: raw test accuracy and the paired difference to :data:`BASELINE`."""

    family: str
    task: str
    agent: str
    anchor: bool  # random or a reference teacher: shown, never ranked
    test_accuracy: float | None  # mean over successful episodes
    difference: stats.PairedDifference | None  # teacher - BASELINE over shared seeds (>= 2), else None
    score: float | None  # mean normalized score over successful episodes
    num_episodes: int  # successful episodes
    num_failures: int


@dataclass(frozen=True)
class TaskSummary:
    """What a task can tell apart: its anchors and its minimum detectable effect."""

    family: str
    task: str
    references: tuple[str, ...]  # the reference teachers (anchors.json, or records marked reference)
    num_seeds: int  # most seeds any teacher shares with BASELINE (0: no paired difference)
    mde: float | None  # minimum detectable effect in test accuracy; None without paired differences


@dataclass(frozen=True)
class Family:
    """One family's tasks and its ranking (the non-anchor teachers that ran every one of its tasks)."""

    name: str
    tasks: tuple[str, ...]
    ranked: list[TeacherRow]
    unranked: list[str]  # non-anchor teachers that ran only some of its tasks


@dataclass(frozen=True)
class Report:
    """Everything the README and the page show, computed once."""

    suite: Suite
    rerender_command: str
    records: list[dict[str, Any]]  # one per (task, agent, seed): see records.effective_records
    agents: list[str]  # every agent in the records, sorted
    anchors: list[str]  # the anchor teachers among them, sorted
    ranked: list[TeacherRow]  # ran every task of the suite, not an anchor: by score IQM
    partial: list[TeacherRow]  # ran only some tasks, not an anchor: not ranked
    anchor_rows: list[TeacherRow]  # not ranked
    families: dict[str, Family]  # in suite order
    task_rows: list[TaskRow]
    task_summaries: list[TaskSummary]
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


def read_reference_agents(path: Path) -> dict[str, str]:
    """task -> ``reference_agent`` of an ``anchors.json`` ({} if there is none), or a ConfigError
    naming the file. Only that field is read: anchor files of every teachgym version have it."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: not JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(data, dict) or not all(isinstance(entry, dict) for entry in data.values()):
        raise ConfigError(f"{path}: expected a JSON object task -> anchors (an object)")
    references = {}
    for task, entry in data.items():
        reference = entry.get("reference_agent")
        if not isinstance(reference, str):
            raise ConfigError(f"{path}: {task}: reference_agent={reference!r}; expected a teacher name")
        references[task] = reference
    return references


def project_path(results_dir: Path) -> str:
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
    tasks: Sequence[str],
    reps: int,
    seed: int,
) -> TeacherRow:
    """``agent``'s statistics over ``tasks`` (its records of other tasks are ignored)."""
    records = [r for r in records if r["task"] in tasks]
    scores = _scores_by_task(records, tasks)
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


def _ranking(rows: Sequence[TeacherRow], num_tasks: int) -> tuple[list[TeacherRow], list[TeacherRow]]:
    """(ranked, not ranked): the rows with a successful episode on all ``num_tasks`` tasks, by score
    IQM (highest first; ties by name), and the others, by tasks run (most first), then name. A score
    pooled over some tasks is not comparable with one pooled over all of them."""
    ranked = [row for row in rows if row.num_tasks == num_tasks and row.iqm is not None]
    others = [row for row in rows if row not in ranked]
    ranked.sort(key=lambda row: (-(row.iqm.value if row.iqm else 0.0), row.agent))
    others.sort(key=lambda row: (-row.num_tasks, row.agent))
    return ranked, others


def _accuracy_by_seed(records: list[dict[str, Any]]) -> dict[int, float]:
    return {
        r["seed"]: float(r["test_accuracy"])
        for r in records
        if r["status"] == "ok" and r["test_accuracy"] is not None
    }


def _paired_to_baseline(
    cell: list[dict[str, Any]], baseline: list[dict[str, Any]]
) -> stats.PairedDifference | None:
    """Test accuracy of ``cell`` minus ``baseline``'s over the seeds both ran successfully (the same
    seed is the same student), with its Student t interval; None with fewer than 2 such seeds."""
    mine, theirs = _accuracy_by_seed(cell), _accuracy_by_seed(baseline)
    seeds = sorted(set(mine) & set(theirs))
    if len(seeds) < 2:
        return None
    return stats.paired_difference(
        [mine[s] for s in seeds], [theirs[s] for s in seeds], confidence=CONFIDENCE
    )


def _task_rows(
    family: str, task: str, by_agent: dict[str, list[dict[str, Any]]], anchors: set[str]
) -> list[TaskRow]:
    """The task's rows: the teachers other than the anchors by mean test accuracy (highest first),
    then the anchors by name. Only teachers that ran the task (the runner skips unsupported ones)."""
    cells = {a: [r for r in rs if r["task"] == task] for a, rs in by_agent.items()}
    baseline = cells.get(BASELINE, [])
    rows = []
    for agent, cell in cells.items():
        if not cell:
            continue
        accuracies = list(_accuracy_by_seed(cell).values())
        ok = [r for r in cell if r["status"] == "ok"]
        rows.append(
            TaskRow(
                family=family,
                task=task,
                agent=agent,
                anchor=agent in anchors,
                test_accuracy=float(np.mean(accuracies)) if accuracies else None,
                difference=_paired_to_baseline(cell, baseline) if agent != BASELINE and baseline else None,
                score=float(np.mean([float(r["score"]) for r in ok])) if ok else None,
                num_episodes=len(ok),
                num_failures=len(cell) - len(ok),
            )
        )
    rows.sort(
        key=lambda row: (
            row.anchor,
            row.test_accuracy is None,
            0.0 if row.anchor or row.test_accuracy is None else -row.test_accuracy,
            row.agent,
        )
    )
    return rows


def _task_summary(family: str, task: str, rows: list[TaskRow], references: tuple[str, ...]) -> TaskSummary:
    differences = [row.difference for row in rows if row.difference is not None]
    return TaskSummary(
        family=family,
        task=task,
        references=references,
        num_seeds=max((d["n"] for d in differences), default=0),
        mde=(
            stats.minimum_detectable_effect([d["standard_error"] for d in differences])
            if differences
            else None
        ),
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
    stored_references = read_reference_agents(results_dir / ANCHORS_FILE)

    agents = sorted({r["agent"] for r in records})
    by_agent = {a: [r for r in records if r["agent"] == a] for a in agents}
    references = {
        task: tuple(
            sorted(
                {r["agent"] for r in records if r["task"] == task and r["reference"]}
                | ({stored_references[task]} if task in stored_references else set())
            )
        )
        for task in suite.tasks
    }
    anchors = {RANDOM, *(name for names in references.values() for name in names)} & set(agents)
    baseline = by_agent.get(BASELINE)
    baseline_scores = _scores_by_task(baseline, suite.tasks) if baseline else None

    def rows_over(tasks: Sequence[str], names: Sequence[str]) -> list[TeacherRow]:
        return [_teacher_row(a, by_agent[a], baseline_scores, tasks, reps, seed) for a in names]

    contenders = [a for a in agents if a not in anchors]
    ranked, partial = _ranking(rows_over(suite.tasks, contenders), len(suite.tasks))

    task_family = {r["task"]: r["family"] for r in records}
    family_tasks: dict[str, list[str]] = {}
    for task in suite.tasks:
        if task in task_family:
            family_tasks.setdefault(task_family[task], []).append(task)
    families = {}
    task_rows: list[TaskRow] = []
    summaries = []
    missing = []
    for family, tasks in family_tasks.items():
        ran = [a for a in contenders if any(r["task"] in tasks for r in by_agent[a])]
        family_ranked, family_others = _ranking(rows_over(tasks, ran), len(tasks))
        families[family] = Family(family, tuple(tasks), family_ranked, [row.agent for row in family_others])
        for task in tasks:
            rows = _task_rows(family, task, by_agent, anchors)
            task_rows += rows
            summaries.append(_task_summary(family, task, rows, references[task]))
            for agent, agent_records in by_agent.items():
                count = sum(r["task"] == task for r in agent_records)
                # Only pairs that ran: the runner skips teachers that do not support a task.
                if count and count < suite.num_seeds:
                    missing.append((task, agent, suite.num_seeds - count))

    order = {name: i for i, name in enumerate(suite.tasks)}
    failures = sorted(
        (r for r in records if r["status"] == "failed"),
        key=lambda r: (order[r["task"]], r["agent"], r["seed"]),
    )
    return Report(
        suite=suite,
        rerender_command=f"teachgym leaderboard {project_path(results_dir)}",
        records=records,
        agents=agents,
        anchors=sorted(anchors),
        ranked=ranked,
        partial=partial,
        anchor_rows=rows_over(suite.tasks, sorted(anchors)),
        families=families,
        task_rows=task_rows,
        task_summaries=summaries,
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


def _difference_text(difference: stats.PairedDifference | None) -> str:
    if difference is None:
        return "—"
    return f"{difference['mean']:+.3f} [{difference['low']:+.3f}, {difference['high']:+.3f}]"


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
TASK_COLUMNS = (
    ("family", "Family", "text"),
    ("task", "Task", "text"),
    ("teacher", "Teacher", "text"),
    ("accuracy", "Mean test accuracy", "number"),
    ("difference", f"Paired difference to {BASELINE} [95% CI]", "number"),
    ("pairs", "Paired seeds", "number"),
    ("score", "Mean score", "number"),
    ("episodes", "Episodes", "number"),
    ("failures", "Failures", "number"),
)
SUMMARY_HEADER = (
    "Task",
    "Reference (anchor)",
    f"Seeds paired with {BASELINE}",
    "Minimum detectable effect (test accuracy)",
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


def _task_cells(row: TaskRow) -> list[tuple[str, float | str | None]]:
    """(text, sort value) of each of :data:`TASK_COLUMNS`."""
    name = row.agent + (" (anchor)" if row.anchor else "") + (f" {FAILURE_MARK}" if row.num_failures else "")
    difference = row.difference
    return [
        (row.family, row.family),
        (row.task, row.task),
        (name, row.agent),
        (_number(row.test_accuracy), row.test_accuracy),
        (_difference_text(difference), difference["mean"] if difference else None),
        (str(difference["n"]) if difference else "—", difference["n"] if difference else None),
        (_number(row.score), row.score),
        (str(row.num_episodes), row.num_episodes),
        (str(row.num_failures), row.num_failures),
    ]


def _summary_cells(summary: TaskSummary) -> list[str]:
    """The texts of :data:`SUMMARY_HEADER` for one task."""
    return [
        summary.task,
        ", ".join(summary.references) or "—",
        str(summary.num_seeds) if summary.num_seeds else "—",
        _number(summary.mde),
    ]


def _headings(report: Report) -> dict[str, str]:
    """The section headings, each saying what its table's order is (shared by README and page)."""
    num_tasks = len(report.suite.tasks)
    return {
        "ranking": f"Ranking: by score IQM, highest first (teachers that ran all {num_tasks} tasks)",
        "partial": "Not ranked: teachers that ran only some tasks (by tasks run, then name)",
        "anchors": "Anchors, not ranked",
        "families": "Families",
        "tasks": "Per task: teachers by mean test accuracy, highest first; then the anchors, not ranked",
        "failures": "Failures",
        "provenance": "Provenance",
    }


def _family_texts(report: Report, family: Family) -> dict[str, str]:
    """The headings and notes of one family's section (shared by README and page)."""
    return {
        "ranking": f"Ranking within {family.name}: by score IQM over its {len(family.tasks)} task(s), "
        "highest first",
        "ranking_note": (
            f"Teachers that ran every task of {family.name}, anchors excluded."
            + (
                f" Not ranked here (ran only some of its tasks): {', '.join(family.unranked)}."
                if family.unranked
                else ""
            )
        ),
        "summary": "What each task can detect",
    }


def _method_notes(report: Report) -> list[str]:
    num_tasks = len(report.suite.tasks)
    return [
        f"Per task, the primary numbers are each teacher's mean test accuracy (raw, over its successful "
        f"seeds) and its paired difference to `{BASELINE}`: the mean over the seeds both ran of (teacher - "
        f"`{BASELINE}`) test accuracy, the same seed being the same student under every teacher, with a "
        f"{CONFIDENCE:.0%} Student t interval over those seeds. Tasks without `{BASELINE}` records show "
        f"the mean only. A task's minimum detectable effect is {stats.MDE_FACTOR} x the median over its "
        f"teachers of their paired standard errors against `{BASELINE}` (a true difference that large is "
        "detected with about 80% power at the 5% level); a smaller difference is not evidence either way.",
        f"Scores are each family's normalized score: 0 = the random teacher's mean test accuracy on the "
        f"task's anchor seeds, 1 = the task's reference teacher's (`{ANCHORS_FILE}`). They are never "
        f"clipped, in the statistics or in these tables: below 0 is worse than random's mean, above 1 "
        f"better than the reference's. (Records of sweeps run before scores were unclipped hold scores "
        f"clipped to [0, 1].)",
        f"Anchors ({', '.join(f'`{a}`' for a in report.anchors) or 'none ran'}): `{RANDOM}` and each task's "
        f"reference teacher (privileged agents such as `oracle`, and the `reference_agent` of "
        f"`{ANCHORS_FILE}`) define a score's 0 and 1; they are shown, never ranked.",
        f"The ranking covers the other teachers that ran every one of the suite's {num_tasks} tasks, by "
        f"the interquartile mean (IQM) of their normalized scores over all their successful episodes, "
        f"pooled; the mean is the mean over tasks of each task's mean over seeds. Brackets are "
        f"{CONFIDENCE:.0%} percentile intervals of a stratified bootstrap (seeds resampled within each "
        f"task; {report.reps} resamples, seed {report.seed}). A teacher that ran only some tasks is not "
        "ranked here (a score pooled over some tasks is not comparable with one over all of them); its "
        "family's table ranks it among the teachers that ran the same tasks.",
        f"P(better than {BASELINE}) is the probability of improvement: the chance that an episode of the "
        f"teacher scores higher than one of `{BASELINE}` on the same task (ties count half), averaged "
        "over the tasks both ran.",
        f"{FAILURE_MARK} marks a teacher with failed episodes (see Failures); its statistics use its "
        "successful episodes only.",
    ]


def _curve_note() -> str:
    return (
        "Curves: validation mean accuracy after each step, mean over seeds; the band is a 95% "
        "normal-approximation interval (mean ± 1.96 standard errors over seeds). Anchors are dashed."
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
    headings = _headings(report)
    num_tasks = len(suite.tasks)
    lines = [
        f"# Leaderboard: {suite.name}",
        "",
        f"<!-- Generated by teachgym.bench.report from {RESULTS_FILE} and {SUITE_FILE}; do not edit. -->",
        "",
        f"{num_tasks} tasks x {len(report.agents)} teachers x {suite.num_seeds} seeds; "
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
        f"## {headings['ranking']}",
        "",
        *(_teacher_table(report.ranked, ranked=True, num_tasks=num_tasks) if report.ranked else ["None."]),
        "",
        *[line for note in _method_notes(report) for line in (note, "")],
        f"## {headings['partial']}",
        "",
        *(
            _teacher_table(report.partial, ranked=False, num_tasks=num_tasks)
            if report.partial
            else ["None: every teacher other than the anchors ran every task."]
        ),
        "",
        f"## {headings['anchors']}",
        "",
        *(
            _teacher_table(report.anchor_rows, ranked=False, num_tasks=num_tasks)
            if report.anchor_rows
            else ["None ran."]
        ),
        "",
        f"## {headings['families']}",
        "",
        _curve_note(),
        "",
    ]
    for family in report.families.values():
        texts = _family_texts(report, family)
        rows = [row for row in report.task_rows if row.family == family.name]
        columns = TASK_COLUMNS[1:]
        body = [[text for text, _ in _task_cells(row)[1:]] for row in rows]
        summaries = [_summary_cells(s) for s in report.task_summaries if s.family == family.name]
        lines += [
            f"### {family.name}",
            "",
            f"#### {texts['ranking']}",
            "",
            *(
                _teacher_table(family.ranked, ranked=True, num_tasks=len(family.tasks))
                if family.ranked
                else ["None."]
            ),
            "",
            texts["ranking_note"],
            "",
            f"#### {headings['tasks']}",
            "",
            *_md_table([c[1] for c in columns], body, [c[2] == "number" for c in columns]),
            "",
            f"#### {texts['summary']}",
            "",
            *_md_table(SUMMARY_HEADER, summaries, [False, False, True, True]),
            "",
            f"![{family.name}: validation accuracy per step](curves_{_file_stem(family.name)}.png)",
            "",
        ]
    lines += [f"## {headings['failures']}", ""]
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
        f"## {headings['provenance']}",
        "",
        f"- teachgym versions: {_counts(report.versions)}",
        f"- git revisions: {_counts(report.revisions)}",
        f"- records: {report.num_records} episodes"
        + (
            f" ({report.num_superseded} superseded attempts not counted, e.g. failures a rerun retried)"
            if report.num_superseded
            else ""
        ),
        f"- statistics: `teachgym.bench.stats`, {report.reps} bootstrap resamples, seed {report.seed}; "
        f"paired differences: Student t intervals",
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
    headings = _headings(report)
    num_tasks = len(suite.tasks)

    def teacher_rows(rows: list[TeacherRow], ranked: bool, tasks: int) -> list[Any]:
        return [
            ({"data-teacher": row.agent}, _teacher_cells(row, rank, tasks)[0 if ranked else 1 :])
            for rank, row in enumerate(rows, start=1)
        ]

    task_rows = [
        ({"data-family": row.family, "data-teacher": row.agent}, _task_cells(row)) for row in report.task_rows
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
        f'<p class="note">{num_tasks} tasks x {len(report.agents)} teachers x {suite.num_seeds} '
        f"seeds; {report.num_records} episodes recorded. Generated by teachgym.bench.report; "
        "do not edit.</p>",
        f"<p>Regenerate the results:</p><pre><code>{_esc(chr(10).join(suite.commands))}</code></pre>",
        f"<p>Re-render this page:</p><pre><code>{_esc(report.rerender_command)}</code></pre>",
        f"<h2>{_esc(headings['ranking'])}</h2>",
        # Always a table, even empty: the page's script sorts it and keeps its order in the URL.
        *_html_table("ranking", TEACHER_COLUMNS, teacher_rows(report.ranked, True, num_tasks), "score-desc"),
        *([] if report.ranked else ["<p>None.</p>"]),
        *[f'<p class="note">{_esc(note)}</p>' for note in _method_notes(report)],
        f"<h2>{_esc(headings['partial'])}</h2>",
        *(
            _html_table(
                "not-ranked", TEACHER_COLUMNS[1:], teacher_rows(report.partial, False, num_tasks), None
            )
            if report.partial
            else ["<p>None: every teacher other than the anchors ran every task.</p>"]
        ),
        f"<h2>{_esc(headings['anchors'])}</h2>",
        *(
            _html_table(
                "anchors", TEACHER_COLUMNS[1:], teacher_rows(report.anchor_rows, False, num_tasks), None
            )
            if report.anchor_rows
            else ["<p>None ran.</p>"]
        ),
        f"<h2>{_esc(headings['families'])}</h2>",
        '<p><label for="family-filter">Family: </label><select id="family-filter">',
        '<option value="all">all</option>',
        *[f'<option value="{_esc(f)}">{_esc(f)}</option>' for f in report.families],
        "</select></p>",
        f"<p>{_esc(headings['tasks'])}.</p>",
        *_html_table("families", TASK_COLUMNS, task_rows, None),
        f'<p class="note">{_esc(_curve_note())}</p>',
    ]
    for family in report.families.values():
        texts = _family_texts(report, family)
        stem = _file_stem(family.name)
        summaries = [_summary_cells(s) for s in report.task_summaries if s.family == family.name]
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
                    "score-desc",
                )
                if family.ranked
                else ["<p>None.</p>"]
            ),
            f'<p class="note">{_esc(texts["ranking_note"])}</p>',
            f"<h4>{_esc(texts['summary'])}</h4>",
            *_plain_table(SUMMARY_HEADER, summaries),
            f'<figure data-family="{_esc(family.name)}">',
            f'<img alt="{_esc(family.name)}: validation accuracy per step" '
            f'src="data:image/png;base64,{data}">',
            f"<figcaption>{_esc(family.name)}</figcaption>",
            "</figure>",
            "</section>",
        ]
    lines += [f"<h2>{_esc(headings['failures'])}</h2>"]
    if report.failures:
        body = [[r["task"], r["agent"], str(r["seed"]), _error_text(r)] for r in report.failures]
        lines += _plain_table(["Task", "Teacher", "Seed", "Error"], body)
    else:
        lines += ["<p>No failed episodes.</p>"]
    if report.missing:
        lines += [f"<p>Missing episodes (fewer than {suite.num_seeds} seeds recorded):</p>"]
        lines += _plain_table(["Task", "Teacher", "Missing"], [[e, a, str(n)] for e, a, n in report.missing])
    lines += [
        f"<h2>{_esc(headings['provenance'])}</h2>",
        "<ul>",
        f"<li>teachgym versions: {_esc(_counts(report.versions).replace('`', ''))}</li>",
        f"<li>git revisions: {_esc(_counts(report.revisions).replace('`', ''))}</li>",
        f"<li>statistics: teachgym.bench.stats, {report.reps} bootstrap resamples, seed {report.seed}; "
        "paired differences: Student t intervals</li>",
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
        path = results_dir / f"curves_{_file_stem(family)}.png"
        _plot_family(report, family, [r for r in report.records if r["family"] == family], path)
        images[family] = path.read_bytes()
        written.append(path)
    readme = results_dir / "README.md"
    readme.write_text(_readme(report), encoding="utf-8", newline="\n")
    page = results_dir / "index.html"
    page.write_text(_page(report, images), encoding="utf-8", newline="\n")
    if not (results_dir / "anchors.json").exists():  # the calibration table needs each task's reference
        return [readme, *written, page]
    table = calibration.write_table(
        results_dir, calibration.baselines_of(report.suite.name), report.rerender_command
    )
    return [readme, *written, page, table]
