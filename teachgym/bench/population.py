"""The seeds of one (task, teacher) pair as one population: one batched vector env, one teacher each.

:func:`run_population` plays the episodes of ``seeds`` side by side on a
:class:`~teachgym.vector.TeachingVectorEnv` (the same loop as a single env, on ``N`` episodes whose
students are one population), each seed with its own teacher instance built from its own env's view,
and gives each episode's :class:`~teachgym.rollout.EpisodeResult` exactly as
:func:`~teachgym.rollout.run_episode` gives it on a single env (the vector env's trajectories equal
single envs', tested per family), wall time aside: each episode is given an equal share of the
population's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from teachgym import agents  # type: ignore[attr-defined]  # agents/ is installed as teachgym.agents
from teachgym.bench.episodes import Job, PopulationJob
from teachgym.bench.executors import Execute
from teachgym.bench.suites import Task
from teachgym.rollout import EpisodeResult, git_revision
from teachgym.teacher import as_teacher
from teachgym.vector import TeachingVectorEnv

#: Seeds of one (task, teacher) pair that run as one population (one worker's job): large enough that
#: the population's batched arrays pay off, small enough that two workers share a suite's work evenly
#: and a Ctrl-C loses little (the episodes in flight run again on resume).
POPULATION_SIZE = 25


def populations(jobs: Sequence[Job], size: int = POPULATION_SIZE) -> list[PopulationJob]:
    """The ``jobs`` grouped by (task, teacher) into populations of at most ``size`` seeds, in order."""
    grouped: dict[tuple[str, str], list[Job]] = {}
    for job in jobs:
        grouped.setdefault((job.task.name, job.agent), []).append(job)
    return [
        PopulationJob(group[0].task, group[0].agent, tuple(j.seed for j in group[start : start + size]))
        for group in grouped.values()
        for start in range(0, len(group), size)
    ]


def execute_populations(
    execute: Execute,
    jobs: Sequence[Job],
    call: Callable[[PopulationJob], dict[str, Any]],
    sink: Callable[[dict[str, Any]], None],
    lost: Callable[[Job, str], dict[str, Any]],
) -> None:
    """Run ``jobs`` through ``execute`` as :func:`populations`: ``call(population)`` gives
    ``{"records": [...]}``, one per seed, each passed to ``sink``. A population whose worker died runs
    again seed by seed, so that only the episode that killed it gets ``lost(job, message)``."""
    retry: list[PopulationJob] = []

    def each(batch: dict[str, Any]) -> None:
        for record in batch["records"]:
            sink(record)

    def lost_population(job: PopulationJob, message: str) -> dict[str, Any]:
        if len(job.seeds) > 1:
            retry.extend(PopulationJob(job.task, job.agent, (seed,)) for seed in job.seeds)
            return {"records": []}
        return {"records": [lost(j, message) for j in job.jobs()]}

    execute(populations(jobs), call, each, lost_population)  # type: ignore[arg-type]
    if retry:
        execute(retry, call, each, lost_population)  # type: ignore[arg-type]


def run_population(task: Task, agent: str, seeds: Sequence[int]) -> list[EpisodeResult]:
    """One episode of teacher ``agent`` per seed of ``seeds`` on ``task``, played as one population;
    the results in the order of ``seeds``. Raises whatever an episode raises (the caller falls back to
    single episodes, which record the failure of the one that broke)."""
    vector = task.make_population(len(seeds))
    views = vector.envs
    teachers = [as_teacher(agents.make(agent, view)) for view in views]
    start = time.perf_counter()
    observations, _ = vector.reset(seed=list(seeds))
    revision = git_revision()
    results = []
    for i, (teacher, seed) in enumerate(zip(teachers, seeds, strict=True)):
        teacher.reset(vector.single_observation_space, vector.single_action_space, seed=seed)
        result = EpisodeResult(env_id=task.env_id, agent=agent, seed=seed, git_revision=revision)
        result.initial_accuracy = views[i].mean_accuracy()
        results.append(result)
    infos = [vector.info_of(i) for i in range(len(seeds))]
    done = np.zeros(len(seeds), dtype=bool)
    while not done.all():
        actions = [teacher.act(_row(observations, i), infos[i]) for i, teacher in enumerate(teachers)]
        observations, rewards, terminated, truncated, _ = vector.step(_batch(actions, vector))
        done = terminated | truncated
        infos = [vector.info_of(i) for i in range(len(seeds))]
        for i, (teacher, result) in enumerate(zip(teachers, results, strict=True)):
            reward = float(rewards[i])
            teacher.observe(_row(observations, i), reward, bool(terminated[i]), bool(truncated[i]), infos[i])
            result.episode_return += reward
            result.curve.append(
                {
                    "step": infos[i]["step"],
                    "reward": reward,
                    "mean_accuracy": views[i].mean_accuracy(),
                    "examples_used": infos[i]["examples_used"],
                }
            )
        if done.any() and not done.all():
            raise RuntimeError(f"episodes of one population ended at different steps: {done.tolist()}")
    share = (time.perf_counter() - start) / len(seeds)
    for result, info in zip(results, infos, strict=True):
        _finish(result, info, vector.rules.extra_info_keys, share)
    return results


def _finish(
    result: EpisodeResult, info: dict[str, Any], family_keys: Sequence[str], wall_time: float
) -> None:
    """Fill in what :func:`~teachgym.rollout.run_episode` reads from the last ``info``."""
    result.final_accuracy = info["mean_accuracy"]
    result.final_profile = info["profile"]
    result.initial_test_accuracy = info["initial_test_accuracy"]
    result.test_accuracy = info["test_accuracy"]
    result.test_profile = info["test_profile"]
    result.validation_test_gap = info["validation_test_gap"]
    result.family_info = {key: info[key] for key in family_keys if key in info}
    result.examples_used = info["examples_used"]
    result.compute_used = info["compute_used"]
    result.wall_time = wall_time


def _row(observations: dict[str, np.ndarray], index: int) -> dict[str, np.ndarray]:
    return {key: value[index] for key, value in observations.items()}


def _batch(actions: list[Any], vector: TeachingVectorEnv) -> Any:
    """The teachers' actions as one batch: an array where they are arrays of the action space's
    shape, else the list itself (text actions; the family checks each)."""
    shape = getattr(vector.single_action_space, "shape", None)
    if shape is not None and all(isinstance(a, np.ndarray | np.integer | int) for a in actions):
        try:
            batch = np.asarray(actions)
        except ValueError:
            return actions
        if batch.shape == (len(actions), *shape) and batch.dtype.kind in "fiu":
            return batch
    return actions
