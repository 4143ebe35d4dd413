"""The sweep runner: every (task, teacher, seed) episode of a suite, one record each, resumable.

``run_sweep`` first fixes each task's score anchors (the test accuracy of ``random`` and of the
family's reference teacher on each of the 30 :data:`ANCHOR_SEEDS`, disjoint from the benchmark's seeds
0..N-1, their means and the paired interval of reference - random), saved to ``DIR/anchors.json``
with the task definition they were computed for (recomputed when it changes), and refuses a task
whose anchors are not separated (:func:`check_separated`); then runs the episodes without a
successful record in ``DIR/results.jsonl`` and appends
one record per episode as it finishes (:func:`teachgym.bench.records.append_record`). Rerunning the
same command skips finished episodes and retries failed ones (the retry is appended; see
:func:`teachgym.bench.records.effective_records`): an interrupt (SIGINT, SIGKILL) loses at most the
episodes in flight, and a truncated last line is repaired with a warning. An episode that raises (a
teacher bug, a student whose loss became NaN, a dead worker) is recorded as ``status="failed"`` with
the error, and the sweep goes on.

Anchor episodes run through the same executor (worker processes or Ray tasks) as the sweep's, and
every episode under the same thread settings (:func:`episode_threads`), whether in the driver or in a
worker, so a score compares accuracies computed the same way.

Executors: ``local`` (worker processes on this machine; ``workers=1`` runs in-process) and ``ray``
(Ray tasks on a local or existing cluster; extra ``teachgym[ray]``). Both produce the same records
for the same seeds (wall times aside).
"""

from __future__ import annotations

import functools
import json
import math
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from teachgym import agents
from teachgym.bench import records, stats
from teachgym.bench.suites import Task
from teachgym.env import TeachingEnv
from teachgym.errors import ConfigError, UnknownNameError
from teachgym.rollout import git_revision, run_episode

#: Seeds of the anchor episodes (random and reference teachers): 30, so that the paired interval of
#: reference - random is narrow; disjoint from the benchmark's seeds 0..N-1 and from the students of
#: ``teachgym train`` (training 1,000,000 upwards, evaluation 20000 upwards).
ANCHOR_SEEDS = tuple(range(10_000, 10_030))
#: Confidence of the paired interval of reference - random that must lie above 0 (:func:`check_separated`).
ANCHOR_CONFIDENCE = 0.95
EXECUTORS = ("local", "ray")
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
    """The teachers to run on ``task``: ``names`` (checked: unknown names refused), or every
    registered teacher that supports the task's family and builds on its env."""
    env = task.make()
    if names is None:
        chosen = agents.runnable(env)
    else:
        for name in names:
            agents.spec(name)  # UnknownNameError listing the known names
        chosen = [n for n in names if agents.supports(n, env) and agents.builds(n, env)]
    env.close()
    return chosen


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
        return {**base, "status": "failed", "error": _error_message(error), "test_accuracy": None}


def _lost_episode(job: Job, message: str) -> dict[str, Any]:
    """The :func:`episode_result` of an episode whose worker died."""
    return {"task": job.task.name, "agent": job.agent, "seed": job.seed, "status": "failed", "error": message}


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


def _measure_anchors(
    tasks: Sequence[Task], execute: Executor, quiet: bool, store: Callable[[Task, dict[str, Any]], None]
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

    execute(jobs, episode_result, sink, _lost_episode)
    if failures:
        raise ConfigError(failures[min(failures)])


def anchors_for(task: Task, *, workers: int = 1) -> dict[str, Any]:
    """``task``'s :func:`anchor_entry`, measured now with ``workers`` local processes (1: in this
    process); a ConfigError if an anchor episode fails."""
    found: dict[str, dict[str, Any]] = {}
    execute = functools.partial(_execute, workers=workers, executor="local", ray_address=None)
    _measure_anchors([task], execute, True, lambda done, entry: found.update({done.name: entry}))
    return found[task.name]


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
        if not all(math.isfinite(v) for v in (result.test_accuracy, result.final_accuracy)):
            raise FloatingPointError(f"non-finite accuracy {result.test_accuracy!r}")
        family_env: TeachingEnv = env.unwrapped  # type: ignore[assignment]
        score = family_env.score(result.test_accuracy, anchors["random"], anchors["reference"])
        env.close()
        fields = result.to_dict()
        json.dumps(fields, allow_nan=False)  # a NaN or inf anywhere (e.g. a diverged curve) fails here
        return {
            **base,
            **{k: fields[k] for k in records.FIELDS if k in fields and k not in base},
            "status": "ok",
            "error": None,
            "score": score,
        }
    except Exception as error:  # recorded, not raised: one broken episode must not end a sweep
        return failed_record(base, error, time.perf_counter() - start)


def _error_message(error: BaseException | str) -> str:
    """``"ExceptionType: message (at file:line)"`` (the last traceback line), at most 2000 characters."""
    if isinstance(error, BaseException):
        where = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
        place = f" (at {Path(where[0].filename).name}:{where[0].lineno})" if where else ""
        error = f"{type(error).__name__}: {error}{place}"
    return error[:2000]


def failed_record(base: dict[str, Any], error: BaseException | str, wall_time: float) -> dict[str, Any]:
    """A record marked failed, with the error's type and message (and the last traceback line)."""
    return {
        **base,
        "status": "failed",
        "error": _error_message(error),
        "score": None,
        "test_accuracy": None,
        "initial_test_accuracy": None,
        "final_accuracy": None,
        "initial_accuracy": None,
        "validation_test_gap": None,
        "episode_return": None,
        "curve": [],
        "final_profile": {},
        "test_profile": {},
        "examples_used": 0,
        "compute_used": 0,
        "family_info": {},
        "wall_time": wall_time,
        "version": _version(),
    }


def _version() -> str:
    from teachgym import __version__

    return __version__


def _write_json_atomic(path: Path, value: Any) -> None:
    records.write_atomic(path, json.dumps(value, indent=2, sort_keys=True) + "\n")


class Progress:
    """A one-line progress bar with an ETA on stderr (a line per 10% when stderr is not a terminal)."""

    def __init__(self, total: int, quiet: bool = False) -> None:
        self.total, self.done, self.start, self.quiet = total, 0, time.perf_counter(), quiet
        self.tty = sys.stderr.isatty()
        self._last_decile = -1

    def update(self, label: str) -> None:
        self.done += 1
        if self.quiet or not self.total:
            return
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        line = f"[{self.done}/{self.total}] {self.done / self.total:4.0%}  ETA {eta:5.0f} s  {label}"
        decile = 10 * self.done // self.total
        if self.tty:
            print("\r" + line[:100].ljust(100), end="\n" if self.done == self.total else "", file=sys.stderr)
        elif decile != self._last_decile:
            self._last_decile = decile
            print(line, file=sys.stderr)


#: Runs an episode in a worker (picklable): a job -> its result (a record, or an :func:`episode_result`).
Call = Callable[[Job], dict[str, Any]]
#: Receives each result in the driver, as it arrives.
Sink = Callable[[dict[str, Any]], None]
#: The result of a job whose worker died or whose result was lost, from the job and the error message.
Lost = Callable[[Job, str], dict[str, Any]]
#: Runs jobs (``execute(jobs, call, sink, lost)``): :func:`_execute` with the sweep's executor settings.
Executor = Callable[[Sequence[Job], Call, Sink, Lost], None]


def _execute(
    jobs: Sequence[Job],
    call: Call,
    sink: Sink,
    lost: Lost,
    *,
    workers: int,
    executor: str,
    ray_address: str | None,
) -> None:
    """Run every job with ``executor`` (``local``: ``workers`` processes; ``ray``: Ray tasks), passing
    each result to ``sink``; the one way episodes run, for anchors, sweeps and effects alike."""
    if executor == "ray":
        from teachgym.bench.ray_executor import run_ray

        run_ray(jobs, call, sink, lost, address=ray_address)
    else:
        _run_local(jobs, workers, call, sink, lost)


def _run_local(jobs: Sequence[Job], workers: int, call: Call, sink: Sink, lost: Lost) -> None:
    if workers == 1:
        for job in jobs:
            sink(call(job))
        return
    # A worker that dies (killed, out of memory) breaks its pool: every job still pending in it fails
    # with BrokenProcessPool, whichever one killed the worker. Such jobs run again in a fresh pool; a
    # job caught in a broken pool twice then runs alone, where only its own death can fail it.
    queue = list(range(len(jobs)))  # positions in ``jobs`` (a Job holds dicts: it is not hashable)
    broke_once: set[int] = set()
    alone: list[int] = []
    while queue:
        broken = list(_run_pool(jobs, queue, workers, call, sink, lost))
        queue = [i for i in broken if i not in broke_once]
        alone += [i for i in broken if i in broke_once]
        broke_once.update(broken)
    for i in alone:
        for error in _run_pool(jobs, [i], 1, call, sink, lost).values():
            reason = f"the worker process died while running this episode alone (killed?): {error}"
            sink(lost(jobs[i], f"BrokenProcessPool: {reason}"))


def _run_pool(
    jobs: Sequence[Job],
    positions: Sequence[int],
    workers: int,
    call: Call,
    sink: Sink,
    lost: Lost,
) -> dict[int, BrokenProcessPool]:
    """Run ``jobs[i]`` for each of ``positions`` in one pool of ``workers`` processes, passing each
    record to ``sink``; the positions whose worker died, with the error, in the order of ``positions``."""
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_ignore_sigint)
    pending: dict[Future[dict[str, Any]], int] = {pool.submit(call, jobs[i]): i for i in positions}
    broken: dict[int, BrokenProcessPool] = {}
    try:
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                i = pending.pop(future)
                try:
                    sink(future.result())
                except BrokenProcessPool as error:
                    broken[i] = error
                except Exception as error:  # e.g. a record that could not be sent back
                    sink(lost(jobs[i], _error_message(error)))
    except KeyboardInterrupt:
        # Episodes in flight are dropped, not recorded: a rerun runs them again. The workers ignore
        # SIGINT (so none dies mid-record and is taken for a failure); stop them here.
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return {i: broken[i] for i in positions if i in broken}


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C is the runner's to handle (it stops the workers itself)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _lost_record(job: Job, message: str, *, suite: str, command: str) -> dict[str, Any]:
    """The failed record of a sweep episode whose worker died or whose record was lost."""
    return failed_record(_base_of_job(job, suite, command), message, 0.0)


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
    if executor not in EXECUTORS:
        raise ConfigError(f"executor={executor!r} is invalid; expected one of {EXECUTORS}")
    for name, value in (("seeds", seeds), ("workers", workers)):
        if value < 1:
            raise ConfigError(f"{name}={value} is invalid; expected an int >= 1")
    results = out / "results.jsonl"
    records.repair(results)
    done = {
        records.key(r)
        for r in records.effective_records(records.read_records(results))
        if r["status"] == "ok"
    }
    # Plan first (unknown teacher names are refused here), then write anything to ``out``.
    teachers = {task.name: supported_agents(task, agent_names) for task in tasks}
    if agent_names is not None:
        unused = sorted(set(agent_names) - {a for names in teachers.values() for a in names})
        if unused:
            print(f"note: {unused} support or build on none of the suite's tasks; skipped", file=sys.stderr)
    jobs = [
        Job(task, agent, seed)
        for task in tasks
        for agent in teachers[task.name]
        for seed in range(seeds)
        if (task.name, agent, seed) not in done
    ]
    out.mkdir(parents=True, exist_ok=True)  # only now: a refused sweep leaves no folder behind
    _write_suite_file(out, suite, tasks, agent_names, seeds, command)
    execute = functools.partial(_execute, workers=workers, executor=executor, ray_address=ray_address)
    with _session(executor, ray_address):  # one Ray instance for the anchors and the episodes
        anchors = _anchors(out, tasks, quiet, execute)
        check_separated(anchors, tasks)
        progress = Progress(len(jobs), quiet)

        def sink(record: dict[str, Any]) -> None:
            records.append_record(results, record)
            progress.update(f"{record['task']} {record['agent']} seed {record['seed']} {record['status']}")

        # Only what scoring reads travels with each job, not the per-seed anchor accuracies.
        scoring = {name: {"random": a["random"], "reference": a["reference"]} for name, a in anchors.items()}
        call = functools.partial(_call, suite=suite, command=command, anchors=scoring)
        execute(jobs, call, sink, functools.partial(_lost_record, suite=suite, command=command))
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
    if executor not in EXECUTORS:
        raise ConfigError(f"executor={executor!r} is invalid; expected one of {EXECUTORS}")
    if workers < 1:
        raise ConfigError(f"workers={workers} is invalid; expected an int >= 1")
    results: dict[tuple[str, str, int], dict[str, Any]] = {}
    progress = Progress(len(jobs), quiet)

    def sink(result: dict[str, Any]) -> None:
        results[(result["task"], result["agent"], result["seed"])] = result
        progress.update(f"{result['task']} {result['agent']} seed {result['seed']} {result['status']}")

    with _session(executor, ray_address):
        execute = functools.partial(_execute, workers=workers, executor=executor, ray_address=ray_address)
        execute(jobs, episode_result, sink, _lost_episode)
    return [results[(job.task.name, job.agent, job.seed)] for job in jobs]


def _session(executor: str, address: str | None) -> AbstractContextManager[None]:
    """A Ray instance held for the whole sweep with ``executor="ray"`` (nothing otherwise)."""
    if executor != "ray":
        return nullcontext()
    from teachgym.bench.ray_executor import ray_session

    return ray_session(address)


def _call(job: Job, *, suite: str, command: str, anchors: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return run_job(job, suite, command, anchors[job.task.name])


def _stale_fields(stored: dict[str, Any], definition: dict[str, Any]) -> list[str]:
    """The fields of ``definition`` that a stored anchor entry contradicts (empty: still valid).

    An entry written before definitions were stored ("legacy": no ``definition`` key) is checked on
    what it does record, its ``reference_agent`` and ``seeds`` (legacy entries have 5 seeds: stale).
    """
    recorded = stored.get("definition")
    if recorded is None:  # legacy
        return sorted(name for name in ("reference_agent", "seeds") if stored.get(name) != definition[name])
    return sorted(name for name in {*recorded, *definition} if recorded.get(name) != definition.get(name))


def _anchors(out: Path, tasks: Iterable[Task], quiet: bool, execute: Executor) -> dict[str, dict[str, Any]]:
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
            stale = _stale_fields(stored, anchor_definition(task))
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
        _write_json_atomic(path, anchors)

    if stale_tasks:
        _measure_anchors(stale_tasks, execute, quiet, store)
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
    _write_json_atomic(path, info)


__all__ = [
    "ANCHOR_CONFIDENCE",
    "ANCHOR_SEEDS",
    "EPISODE_THREADS",
    "Job",
    "UnknownNameError",
    "anchor_definition",
    "anchor_entry",
    "anchors_for",
    "check_separated",
    "episode_result",
    "episode_threads",
    "run_episodes",
    "run_job",
    "run_sweep",
    "separation_problem",
]
