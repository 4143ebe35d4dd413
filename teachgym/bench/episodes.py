"""One episode of a benchmark: the job (task, teacher, seed), the teachers a task runs, the thread
settings every episode runs under, and what an episode gives back (a sweep record, or a plain result).

Everything here runs in a worker (a process of the local pool, or a Ray task) as well as in the
driver, and never raises for a broken episode: a failure becomes a failed record or result with the
error (:func:`teachgym.bench.failures.error_message`), so one broken episode cannot end a sweep.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from teachgym import agents  # type: ignore[attr-defined]  # agents/ is installed as teachgym.agents
from teachgym.bench import records
from teachgym.bench.failures import error_message
from teachgym.bench.suites import Task
from teachgym.env import TeachingEnv
from teachgym.errors import ConfigError
from teachgym.rollout import git_revision, run_episode

#: Torch and BLAS/OpenMP threads of every episode, anchors included: the students are small, one
#: thread per process is fastest, and the same count everywhere keeps float results comparable.
EPISODE_THREADS = 1


@contextmanager
def episode_threads() -> Iterator[None]:
    """Run the enclosed episodes with :data:`EPISODE_THREADS` threads in torch and in every BLAS and
    OpenMP pool of this process (``threadpoolctl``); the previous settings are restored on exit.

    The one place thread settings are made: anchors (in the driver) and episodes (in the driver, a
    worker process or a Ray task) both run inside it.
    """
    import torch
    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads()
    torch.set_num_threads(EPISODE_THREADS)
    try:
        with threadpool_limits(limits=EPISODE_THREADS):
            yield
    finally:
        torch.set_num_threads(previous)


@dataclass(frozen=True)
class Job:
    """One episode to run: a task, a teacher, a seed."""

    task: Task
    agent: str
    seed: int


def supported_agents(task: Task, names: Sequence[str] | None) -> list[str]:
    """The teachers to run on ``task``: ``names`` (checked: unknown names refused; ``"all"`` among
    them stands for every registered teacher that acts on the task and builds on its env), or, for
    None, every such registered teacher."""
    env = task.make()
    names = ["all"] if names is None else list(names)
    for name in names:
        if name != "all":
            agents.spec(name)  # UnknownNameError listing the known names
    chosen: list[str] = []
    for name in names:
        if name == "all":
            chosen += agents.runnable(env)
        elif agents.supports(name, env) and agents.builds(name, env):
            chosen.append(name)
    env.close()
    return list(dict.fromkeys(chosen))


def reference_agent(task: Task) -> str:
    """The first of the task's family ``REFERENCES`` that builds on its env."""
    env = task.make()
    try:
        for name in task.references:
            if agents.builds(name, env):
                return name
    finally:
        env.close()
    raise ConfigError(f"no reference teacher of {task.references} builds on task {task.name!r}")


def _episode(task: Task, agent: str, seed: int) -> tuple[float, Any]:
    with episode_threads():
        env = task.make()
        teacher = agents.make(agent, env)
        result = run_episode(env, teacher, seed, agent=agent)
        env.close()
    return result.test_accuracy, result


def episode_result(job: Job) -> dict[str, Any]:
    """One episode of ``job`` as a plain dict; never raises.

    ``{"task", "agent", "seed", "status", "error"}`` (``status`` ``"ok"`` or ``"failed"``, ``error``
    None or ``"ExceptionType: message"``) and, when ok, the fields of
    :class:`teachgym.rollout.EpisodeResult` (``test_accuracy``, ``curve``, ``family_info``, ...). For
    episodes that are not sweep records (anchors, effects); picklable, so any executor can run it.
    """
    base = {"task": job.task.name, "agent": job.agent, "seed": job.seed}
    try:
        accuracy, result = _episode(job.task, job.agent, job.seed)
        if not math.isfinite(accuracy):
            raise FloatingPointError(f"non-finite accuracy {accuracy!r}")
        return {**result.to_dict(), **base, "status": "ok", "error": None}
    except Exception as error:  # returned, not raised: the caller decides what a failure means
        return {**base, "status": "failed", "error": error_message(error), "test_accuracy": None}


def population_results(job: PopulationJob) -> dict[str, Any]:
    """``{"records": [...]}``: the :func:`episode_result` of each seed of ``job``, in its order, the
    seeds played as one population; if anything in it fails, each seed runs again alone (where a
    failure is the result of the episode that failed)."""
    from teachgym.bench.population import run_population

    base = [{"task": j.task.name, "agent": j.agent, "seed": j.seed} for j in job.jobs()]
    try:
        with episode_threads():
            results = run_population(job.task, job.agent, job.seeds)
        if not all(math.isfinite(r.test_accuracy) for r in results):
            raise FloatingPointError("non-finite accuracy")
        return {
            "records": [
                {**r.to_dict(), **b, "status": "ok", "error": None}
                for r, b in zip(results, base, strict=True)
            ]
        }
    except Exception:  # each seed alone, where a failure is recorded for the episode that failed
        return {"records": [episode_result(j) for j in job.jobs()]}


def lost_episode(job: Job, message: str) -> dict[str, Any]:
    """The :func:`episode_result` of an episode whose worker died."""
    return {"task": job.task.name, "agent": job.agent, "seed": job.seed, "status": "failed", "error": message}


def _base_of_job(job: Job, suite: str, command: str) -> dict[str, Any]:
    """The fields of a record that do not depend on how the episode went."""
    return {
        "schema": records.SCHEMA,
        "suite": suite,
        "task": job.task.name,
        "env_id": job.task.env_id,
        "env_kwargs": job.task.kwargs,
        "family": job.task.family,
        "agent": job.agent,
        "agent_source": agents.source_hash(job.agent),
        "seed": job.seed,
        "reference": bool(agents.spec(job.agent, job.task.family).reference),
        "command": command,
        "git_revision": git_revision(),
    }


def run_job(job: Job, suite: str, command: str, anchors: dict[str, Any]) -> dict[str, Any]:
    """The record of one episode; any exception becomes a failed record with the error."""
    start = time.perf_counter()
    base = _base_of_job(job, suite, command)
    try:
        with episode_threads():
            env = job.task.make()
            teacher = agents.make(job.agent, env)
            result = run_episode(env, teacher, job.seed, agent=job.agent)
            env.close()
        return _record(base, result, anchors)
    except Exception as error:  # recorded, not raised: one broken episode must not end a sweep
        return failed_record(base, error, time.perf_counter() - start)


@dataclass(frozen=True)
class PopulationJob:
    """The episodes of one teacher on one task for several seeds, run as one population."""

    task: Task
    agent: str
    seeds: tuple[int, ...]

    def jobs(self) -> list[Job]:
        return [Job(self.task, self.agent, seed) for seed in self.seeds]


def run_population_job(
    job: PopulationJob, suite: str, command: str, anchors: dict[str, Any]
) -> dict[str, Any]:
    """``{"records": [...]}``, one record per seed of ``job``, in its order: the seeds played as one
    population (:func:`teachgym.bench.population.run_population`), each record what :func:`run_job`
    gives for its seed. If anything in the population fails, every seed runs again alone, so that a
    broken episode gives its own failed record and the others theirs."""
    from teachgym.bench.population import run_population

    try:
        with episode_threads():
            results = run_population(job.task, job.agent, job.seeds)
        return {
            "records": [
                _record(_base_of_job(j, suite, command), r, anchors)
                for j, r in zip(job.jobs(), results, strict=True)
            ]
        }
    except Exception:  # each seed alone, where a failure is recorded for the episode that failed
        return {"records": [run_job(j, suite, command, anchors) for j in job.jobs()]}


def _record(base: dict[str, Any], result: Any, anchors: dict[str, Any]) -> dict[str, Any]:
    """The ok record of an episode's result (a FloatingPointError for a non-finite accuracy or curve)."""
    if not all(math.isfinite(v) for v in (result.test_accuracy, result.final_accuracy)):
        raise FloatingPointError(f"non-finite accuracy {result.test_accuracy!r}")
    score = TeachingEnv.score(result.test_accuracy, anchors["random"], anchors["reference"])
    fields = result.to_dict()
    json.dumps(fields, allow_nan=False)  # a NaN or inf anywhere (e.g. a diverged curve) fails here
    outcome = {k: fields[k] for k in records.FIELDS if k in fields and k not in base}
    return records.Record(**base, **outcome, status="ok", error=None, score=score).to_dict()


def lost_record(job: Job, message: str, *, suite: str, command: str) -> dict[str, Any]:
    """The failed record of a sweep episode whose worker died or whose record was lost."""
    return failed_record(_base_of_job(job, suite, command), message, 0.0)


def failed_record(base: dict[str, Any], error: BaseException | str, wall_time: float) -> dict[str, Any]:
    """A record marked failed, with the error's type and message (and the last traceback line)."""
    return records.Record(
        **base,
        status="failed",
        error=error_message(error),
        score=None,
        test_accuracy=None,
        initial_test_accuracy=None,
        final_accuracy=None,
        initial_accuracy=None,
        validation_test_gap=None,
        episode_return=None,
        curve=[],
        final_profile={},
        test_profile={},
        examples_used=0,
        compute_used=0,
        family_info={},
        wall_time=wall_time,
        version=_version(),
    ).to_dict()


def _version() -> str:
    from teachgym import __version__

    return __version__


__all__ = [
    "EPISODE_THREADS",
    "Job",
    "PopulationJob",
    "episode_result",
    "episode_threads",
    "failed_record",
    "lost_episode",
    "lost_record",
    "population_results",
    "reference_agent",
    "run_job",
    "supported_agents",
]
