"""A sweep runs the seeds of a (task, teacher) pair as one population: each episode's result equals
the one a single env gives for its seed, for every teacher of every task of the ``core-v1`` suite."""

from __future__ import annotations

import dataclasses

import pytest

from teachgym import agents  # type: ignore[attr-defined]
from teachgym.bench.episodes import Job, supported_agents
from teachgym.bench.population import populations, run_population
from teachgym.bench.suites import Task, suite
from teachgym.rollout import run_episode

SEEDS = (3, 0, 11)
#: Short episodes of every core-v1 task (the same families and settings, fewer steps).
TASKS = [dataclasses.replace(task, kwargs={**task.kwargs, "num_steps": 4}) for task in suite("core-v1")]


def _single(task: Task, agent: str, seed: int) -> dict:
    env = task.make()
    result = run_episode(env, agents.make(agent, env), seed, agent=agent)
    return {k: v for k, v in result.to_dict().items() if k != "wall_time"}


@pytest.mark.parametrize("task", TASKS, ids=[t.name for t in TASKS])
def test_a_population_gives_each_seed_its_single_episode(task: Task) -> None:
    for agent in supported_agents(task, None):
        if agent.startswith("sb3:"):
            continue  # trained teachers act like any other teacher; their policies load slowly
        results = run_population(task, agent, SEEDS)
        for seed, result in zip(SEEDS, results, strict=True):
            got = {k: v for k, v in result.to_dict().items() if k != "wall_time"}
            assert got == _single(task, agent, seed), f"{task.name} {agent} seed {seed}"


def test_sweep_jobs_are_grouped_by_task_and_teacher_in_bounded_populations() -> None:
    a, b = TASKS[0], TASKS[1]
    jobs = [Job(a, "random", s) for s in range(7)] + [Job(b, "random", 0), Job(a, "uniform", 4)]
    groups = populations(jobs, size=3)
    assert [(g.task.name, g.agent, g.seeds) for g in groups] == [
        (a.name, "random", (0, 1, 2)),
        (a.name, "random", (3, 4, 5)),
        (a.name, "random", (6,)),
        (b.name, "random", (0,)),
        (a.name, "uniform", (4,)),
    ]
