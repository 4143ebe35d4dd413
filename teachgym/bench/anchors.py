"""Score anchors: what scores 0 and 1 on a task, measured, stored and judged.

A task's anchors are the test accuracy of ``random`` and of the family's reference teacher on each of
the 30 :data:`ANCHOR_SEEDS` (disjoint from the benchmark's seeds 0..N-1), their means and the paired
interval of reference - random (:func:`anchor_entry`), kept with the task definition they were
computed for (:func:`anchor_definition`; :func:`stale_fields` says when it changed). A task whose
anchors are not separated is refused (:func:`check_separated`). Anchor episodes run through the
sweep's executor (:mod:`teachgym.bench.executors`), under the same thread settings as every episode.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from teachgym.bench import stats
from teachgym.bench.episodes import Job, lost_episode, population_results, reference_agent
from teachgym.bench.executors import Execute, get_executor
from teachgym.bench.population import execute_populations
from teachgym.bench.suites import Task
from teachgym.errors import ConfigError
from teachgym.progress import Progress

#: Seeds of the anchor episodes (random and reference teachers): 30, so that the paired interval of
#: reference - random is narrow; disjoint from the benchmark's seeds 0..N-1 and from the students of
#: ``teachgym train`` (training 1,000,000 upwards, evaluation 20000 upwards).
ANCHOR_SEEDS = tuple(range(10_000, 10_030))
#: Confidence of the paired interval of reference - random that must lie above 0 (:func:`check_separated`).
ANCHOR_CONFIDENCE = 0.95


def anchor_definition(task: Task) -> dict[str, Any]:
    """What a task's anchors depend on: ``{"env_id", "env_kwargs", "reference_agent", "seeds"}``,
    with JSON types (as stored in ``anchors.json``, so it compares equal to a stored one)."""
    definition = {
        "env_id": task.env_id,
        "env_kwargs": task.kwargs,
        "reference_agent": reference_agent(task),
        "seeds": list(ANCHOR_SEEDS),
    }
    return json.loads(json.dumps(definition, sort_keys=True))  # tuples -> lists, like the file


def anchor_entry(
    definition: dict[str, Any], random_accuracies: Sequence[float], reference_accuracies: Sequence[float]
) -> dict[str, Any]:
    """What ``anchors.json`` stores for a task: the means of ``random`` and the reference (what scores
    0 and 1), the per-seed test accuracies (in the order of ``definition["seeds"]``), and the paired
    difference reference - random with its :data:`ANCHOR_CONFIDENCE` Student t interval over seeds
    (:func:`teachgym.bench.stats.paired_difference`), with the :func:`anchor_definition`."""
    difference = stats.paired_difference(
        reference_accuracies, random_accuracies, confidence=ANCHOR_CONFIDENCE
    )
    return {
        "random": sum(random_accuracies) / len(random_accuracies),
        "reference": sum(reference_accuracies) / len(reference_accuracies),
        "reference_agent": definition["reference_agent"],
        "seeds": list(definition["seeds"]),
        "definition": definition,
        "random_accuracies": [float(a) for a in random_accuracies],
        "reference_accuracies": [float(a) for a in reference_accuracies],
        "difference": {**difference, "method": "paired Student t interval over seeds"},
    }


def measure_anchors(
    tasks: Sequence[Task], execute: Execute, quiet: bool, store: Callable[[Task, dict[str, Any]], None]
) -> None:
    """Run the anchor episodes of ``tasks`` (``random`` and the reference on every anchor seed) with
    ``execute``; pass each task's :func:`anchor_entry` to ``store`` as soon as its episodes are done.

    Raises:
        ConfigError: an anchor episode failed (the first in task, teacher, seed order), after every
            other task's anchors were stored: no episode of a task can be scored without its anchors,
            and a NaN anchor would score every episode silently wrong.
    """
    definitions = {task.name: anchor_definition(task) for task in tasks}
    jobs = [
        Job(task, name, seed)
        for task in tasks
        # One set of episodes if a task's reference is ``random`` itself (then it is never separated).
        for name in dict.fromkeys(("random", definitions[task.name]["reference_agent"]))
        for seed in ANCHOR_SEEDS
    ]
    order = {(job.task.name, job.agent, job.seed): i for i, job in enumerate(jobs)}
    remaining = {task.name: sum(job.task.name == task.name for job in jobs) for task in tasks}
    accuracies: dict[tuple[str, str, int], float] = {}
    failures: dict[int, str] = {}
    by_name = {task.name: task for task in tasks}
    failed: set[str] = set()
    progress = Progress(len(jobs), quiet)

    def sink(result: dict[str, Any]) -> None:
        name, agent, seed = result["task"], result["agent"], result["seed"]
        if result["status"] == "ok":
            accuracies[(name, agent, seed)] = float(result["test_accuracy"])
        else:
            failed.add(name)
            error = " ".join(str(result["error"]).split())  # one line: the CLI prints it as is
            failures[order[(name, agent, seed)]] = (
                f"task {name!r}: its anchor episode ({agent!r} teacher, seed {seed}) failed with "
                f"{error}; fix the task before sweeping it"
            )
        progress.update(f"anchors {name} {agent} seed {seed} {result['status']}")
        remaining[name] -= 1
        if remaining[name] == 0 and name not in failed:
            reference = definitions[name]["reference_agent"]
            store(
                by_name[name],
                anchor_entry(
                    definitions[name],
                    [accuracies[(name, "random", s)] for s in ANCHOR_SEEDS],
                    [accuracies[(name, reference, s)] for s in ANCHOR_SEEDS],
                ),
            )

    execute_populations(execute, jobs, population_results, sink, lost_episode)
    if failures:
        raise ConfigError(failures[min(failures)])


def anchors_for(task: Task, *, workers: int = 1) -> dict[str, Any]:
    """``task``'s :func:`anchor_entry`, measured now with ``workers`` local processes (1: in this
    process); a ConfigError if an anchor episode fails."""
    found: dict[str, dict[str, Any]] = {}
    execute = functools.partial(get_executor("local").run, workers=workers, address=None)
    measure_anchors([task], execute, True, lambda done, entry: found.update({done.name: entry}))
    return found[task.name]


def stale_fields(stored: dict[str, Any], definition: dict[str, Any]) -> list[str]:
    """The fields of ``definition`` that a stored anchor entry contradicts (empty: still valid).

    An entry written before definitions were stored ("legacy": no ``definition`` key) is checked on
    what it does record, its ``reference_agent`` and ``seeds`` (legacy entries have 5 seeds: stale).
    """
    recorded = stored.get("definition")
    if recorded is None:  # legacy
        return sorted(name for name in ("reference_agent", "seeds") if stored.get(name) != definition[name])
    return sorted(name for name in {*recorded, *definition} if recorded.get(name) != definition.get(name))


def separation_problem(name: str, entry: dict[str, Any]) -> str | None:
    """Why the stored anchors ``entry`` of task ``name`` do not separate its reference from ``random``
    (the paired :data:`ANCHOR_CONFIDENCE` interval of reference - random test accuracy does not lie
    above 0), naming the numbers; None when they do."""
    difference = stats.paired_difference(
        entry["reference_accuracies"], entry["random_accuracies"], confidence=ANCHOR_CONFIDENCE
    )
    if difference["low"] > 0.0:
        return None
    return (
        f"task {name!r}: {entry['reference_agent']} - random test accuracy = {difference['mean']:+.4f}, "
        f"{ANCHOR_CONFIDENCE:.0%} interval [{difference['low']:+.4f}, {difference['high']:+.4f}] over "
        f"{difference['n']} seeds (random {entry['random']:.4f}, reference {entry['reference']:.4f})"
    )


def check_separated(anchors: dict[str, dict[str, Any]], tasks: Iterable[Task]) -> None:
    """Refuse (ConfigError, one line) the tasks whose anchors are not separated: on them the reference
    teacher is no better than ``random``, so a normalized score divides noise by noise."""
    problems = [problem for task in tasks if (problem := separation_problem(task.name, anchors[task.name]))]
    if problems:
        raise ConfigError(
            "anchors not separated: the reference teacher must beat random by a paired "
            f"{ANCHOR_CONFIDENCE:.0%} interval above 0; " + "; ".join(problems) + "; fix the task (budget "
            "scarcity, heterogeneous students, difficulty spread, prerequisites, forgetting) or drop it"
        )


__all__ = [
    "ANCHOR_CONFIDENCE",
    "ANCHOR_SEEDS",
    "anchor_definition",
    "anchor_entry",
    "anchors_for",
    "check_separated",
    "measure_anchors",
    "separation_problem",
    "stale_fields",
]
