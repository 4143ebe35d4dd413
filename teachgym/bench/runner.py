"""The sweep runner: every (task, teacher, seed) episode of a suite, one record each, resumable.

``run_sweep`` first fixes each task's score anchors (:mod:`teachgym.bench.anchors`: the test
accuracy of ``random`` and of the family's reference teacher on each of the 30 :data:`ANCHOR_SEEDS`,
disjoint from the benchmark's seeds 0..N-1, their means and the paired interval of reference -
random), saved to ``DIR/anchors.json`` with the task definition they were computed for (recomputed
when it changes), and refuses a task whose anchors are not separated (:func:`check_separated`); then
runs the episodes without a successful record in ``DIR/results.jsonl`` and appends one record per
episode as it finishes (:func:`teachgym.bench.records.append_record`). Rerunning the same command
skips finished episodes and retries failed ones (the retry is appended; see
:func:`teachgym.bench.records.effective_records`): an interrupt (SIGINT, SIGKILL) loses at most the
episodes in flight, and a truncated last line is repaired with a warning. An episode that raises (a
teacher bug, a student whose loss became NaN, a dead worker) is recorded as ``status="failed"`` with
the error, and the sweep goes on.

This module orchestrates a sweep and keeps its folder (``results.jsonl``, ``anchors.json``,
``suite.json``); an episode and its record are :mod:`teachgym.bench.episodes`', and how episodes run
is an executor's (:mod:`teachgym.bench.executors`: ``local`` worker processes, ``workers=1``
in-process, or ``ray``). Anchor episodes run through the same executor as the sweep's, and every
episode under the same thread settings (:func:`episode_threads`), whether in the driver or in a
worker, so a score compares accuracies computed the same way. The names of those modules that other
code imports from here are re-exported.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from teachgym import agents  # type: ignore[attr-defined]  # agents/ is installed as teachgym.agents
from teachgym.bench import folder, records
from teachgym.bench.anchors import (
    ANCHOR_SEEDS,
    anchor_definition,
    anchor_entry,
    check_separated,
    measure_anchors,
    separation_problem,
    stale_fields,
)
from teachgym.bench.episodes import (
    EPISODE_THREADS,
    Job,
    PopulationJob,
    episode_result,
    episode_threads,
    lost_episode,
    lost_record,
    population_results,
    reference_agent,
    run_job,
    run_population_job,
    supported_agents,
)
from teachgym.bench.executors import Execute, get_executor
from teachgym.bench.population import execute_populations
from teachgym.bench.suites import Task
from teachgym.errors import ConfigError
from teachgym.files import write_json_atomic
from teachgym.progress import Progress


def run_sweep(
    suite: str,
    tasks: Sequence[Task],
    out: Path,
    *,
    agent_names: Sequence[str] | None,
    seeds: int,
    command: str,
    workers: int = 1,
    executor: str = "local",
    ray_address: str | None = None,
    quiet: bool = False,
) -> list[dict[str, Any]]:
    """Run (or resume) a sweep into ``out``: every episode without a successful record (new ones and
    failed ones, retried); the effective record of every episode of the results file at the end
    (:func:`teachgym.bench.records.effective_records`: one per episode)."""
    backend = get_executor(executor)
    for name, value in (("seeds", seeds), ("workers", workers)):
        if value < 1:
            raise ConfigError(f"{name}={value} is invalid; expected an int >= 1")
    # Plan first (unknown teacher names are refused here), then write anything to ``out``.
    teachers = {task.name: supported_agents(task, agent_names) for task in tasks}
    if agent_names is not None:
        unused = sorted(set(agent_names) - {"all"} - {a for names in teachers.values() for a in names})
        if unused:
            print(f"note: {unused} support or build on none of the suite's tasks; skipped", file=sys.stderr)
    results = out / "results.jsonl"
    out.mkdir(parents=True, exist_ok=True)  # only now: a refused sweep leaves no folder behind
    with folder.locked(out), backend.session(ray_address):  # one Ray instance for anchors and episodes
        records.repair(results)
        existing = records.effective_records(records.read_records(results))
        folder.check_resume(out, existing, seeds, teachers, agents.source_hash, quiet)
        done = {records.key(r) for r in existing if r["status"] == "ok"}
        jobs = [
            Job(task, agent, seed)
            for task in tasks
            for agent in teachers[task.name]
            for seed in range(seeds)
            if (task.name, agent, seed) not in done
        ]
        _write_suite_file(out, suite, tasks, agent_names, seeds, command)
        execute = functools.partial(backend.run, workers=workers, address=ray_address)
        anchors = _anchors(out, tasks, quiet, execute)
        check_separated(anchors, tasks)
        progress = Progress(len(jobs), quiet)

        def sink(record: dict[str, Any]) -> None:
            records.append_record(results, record)
            progress.update(f"{record['task']} {record['agent']} seed {record['seed']} {record['status']}")

        # Only what scoring reads travels with each job, not the per-seed anchor accuracies.
        scoring = {name: {"random": a["random"], "reference": a["reference"]} for name, a in anchors.items()}
        call = functools.partial(_call, suite=suite, command=command, anchors=scoring)
        lost = functools.partial(lost_record, suite=suite, command=command)
        execute_populations(execute, jobs, call, sink, lost)
    return records.effective_records(records.read_records(results))


def run_episodes(
    jobs: Sequence[Job],
    *,
    workers: int = 1,
    executor: str = "local",
    ray_address: str | None = None,
    quiet: bool = True,
) -> list[dict[str, Any]]:
    """The :func:`episode_result` of every job, in the order of ``jobs``, run as a sweep runs its
    episodes (``workers`` local processes, or Ray tasks), under the same thread settings."""
    backend = get_executor(executor)
    if workers < 1:
        raise ConfigError(f"workers={workers} is invalid; expected an int >= 1")
    results: dict[tuple[str, str, int], dict[str, Any]] = {}
    progress = Progress(len(jobs), quiet)

    def sink(result: dict[str, Any]) -> None:
        results[(result["task"], result["agent"], result["seed"])] = result
        progress.update(f"{result['task']} {result['agent']} seed {result['seed']} {result['status']}")

    execute = functools.partial(backend.run, workers=workers, address=ray_address)
    with backend.session(ray_address):
        execute_populations(execute, jobs, population_results, sink, lost_episode)
    return [results[(job.task.name, job.agent, job.seed)] for job in jobs]


def _call(
    job: PopulationJob, *, suite: str, command: str, anchors: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    return run_population_job(job, suite, command, anchors[job.task.name])


def _anchors(out: Path, tasks: Iterable[Task], quiet: bool, execute: Execute) -> dict[str, dict[str, Any]]:
    """Each task's anchors, kept in ``out/anchors.json`` (written as each task's are done, so an
    interrupt keeps them) and computed again when the task's :func:`anchor_definition` differs from
    the one stored with them. The anchor episodes of every task to (re)compute run together through
    ``execute``, the sweep's executor."""
    path = out / "anchors.json"
    anchors: dict[str, dict[str, Any]] = json.loads(path.read_text()) if path.exists() else {}
    stale_tasks = []
    for task in tasks:
        stored = anchors.get(task.name)
        if stored is None:
            notice = f"anchors: {task.name} (random and reference, {len(ANCHOR_SEEDS)} seeds)"
        else:
            stale = stale_fields(stored, anchor_definition(task))
            # Without per-seed accuracies (an older teachgym wrote the entry) separation is unknown.
            per_seed = {"random_accuracies", "reference_accuracies"} <= set(stored)
            if not stale and per_seed:
                continue
            what = (
                f"{', '.join(stale)} changed since {path.name} was written"
                if stale
                else f"{path.name} holds no per-seed accuracies"
            )
            notice = (
                f"anchors: {task.name}: {what}; recomputing (records already in results.jsonl keep "
                "their scores)"
            )
        if not quiet:
            print(notice, file=sys.stderr)
        stale_tasks.append(task)

    def store(task: Task, entry: dict[str, Any]) -> None:
        anchors[task.name] = entry
        write_json_atomic(path, anchors)

    if stale_tasks:
        measure_anchors(stale_tasks, execute, quiet, store)
    return anchors


def _write_suite_file(
    out: Path, suite: str, tasks: Sequence[Task], agent_names: Sequence[str] | None, seeds: int, command: str
) -> None:
    """``out/suite.json``: the suite, its tasks, and every command that added results to ``out``."""
    path = out / "suite.json"
    info = json.loads(path.read_text()) if path.exists() else {}
    if info and info.get("suite") != suite:
        raise ConfigError(
            f"{out} holds results of suite {info.get('suite')!r}, not {suite!r}; use another --out"
        )
    commands = list(info.get("commands", []))
    if command not in commands:
        commands.append(command)
    info = {
        "suite": suite,
        "command": commands[0],
        "commands": commands,
        "env_ids": [t.name for t in tasks],
        "tasks": {t.name: {"env_id": t.env_id, "kwargs": t.kwargs, "family": t.family} for t in tasks},
        "agents": sorted(set(info.get("agents", [])) | set(agent_names or ["all"])),
        "seeds": max(seeds, int(info.get("seeds", 0))),
    }
    write_json_atomic(path, info)


__all__ = [
    "ANCHOR_SEEDS",
    "EPISODE_THREADS",
    "Job",
    "anchor_definition",
    "anchor_entry",
    "check_separated",
    "episode_result",
    "episode_threads",
    "measure_anchors",
    "reference_agent",
    "run_episodes",
    "run_job",
    "run_sweep",
    "separation_problem",
    "supported_agents",
]
