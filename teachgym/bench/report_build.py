"""A leaderboard's statistics: read one results folder and compute its :class:`Report`.

Reads ``results.jsonl``, ``suite.json`` and (if present) ``anchors.json``; writes nothing. See
:mod:`teachgym.bench.report` for what the statistics are and which teachers are ranked.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from teachgym.bench import stats
from teachgym.bench.records import effective_records, key, read_records
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
from teachgym.errors import ConfigError

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
