"""Executors: how a batch of episodes runs, found by name in :data:`EXECUTORS` (the CLI's
``--executor`` choices are its keys).

An executor runs ``call(job)`` for every job and passes each result to ``sink`` in the driver as it
arrives; a job whose worker died (or whose result was lost) gives ``lost(job, message)`` instead. It
is the one way episodes run, for anchors, sweeps and effects alike, so that they all run the same way.

``local`` runs worker processes on this machine (``workers=1``: in this process; defined here);
``ray`` runs Ray tasks on a local or an existing cluster (:mod:`teachgym.bench.ray_executor`, extra
``teachgym[ray]``). Both produce the same results for the same jobs (wall times aside).
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, Protocol

from teachgym.bench.failures import error_message
from teachgym.bench.ray_executor import RayExecutor
from teachgym.errors import ConfigError

if TYPE_CHECKING:  # the registry is read by the CLI's parser, which must not import the teachers
    from teachgym.bench.episodes import Job

#: Runs an episode in a worker (picklable): a job -> its result (a record, or an episode result).
Call = Callable[["Job"], dict[str, Any]]
#: Receives each result in the driver, as it arrives.
Sink = Callable[[dict[str, Any]], None]
#: The result of a job whose worker died or whose result was lost, from the job and the error message.
Lost = Callable[["Job", str], dict[str, Any]]
#: Runs jobs (``execute(jobs, call, sink, lost)``): an executor's ``run`` with a sweep's settings.
Execute = Callable[[Sequence["Job"], Call, Sink, Lost], None]


class Executor(Protocol):
    """Anything that runs jobs: a ``session`` to hold across runs and a ``run``."""

    def session(self, address: str | None) -> AbstractContextManager[None]:
        """Hold what several runs share (a Ray instance at ``address``) for the enclosed runs."""
        ...

    def run(
        self, jobs: Sequence[Job], call: Call, sink: Sink, lost: Lost, *, workers: int, address: str | None
    ) -> None:
        """Run ``call(job)`` for every job, passing each result to ``sink`` as it arrives (a job whose
        worker died gives ``lost(job, message)``); ``workers`` processes (local executor), a cluster
        at ``address`` (Ray)."""
        ...


class LocalExecutor:
    """Worker processes on this machine (``workers=1`` runs every job in this process)."""

    def session(self, address: str | None) -> AbstractContextManager[None]:
        """Nothing to hold: each run starts its own pool."""
        return nullcontext()

    def run(
        self, jobs: Sequence[Job], call: Call, sink: Sink, lost: Lost, *, workers: int, address: str | None
    ) -> None:
        """Run the jobs in ``workers`` processes (``address`` is not used)."""
        _run_local(jobs, workers, call, sink, lost)


#: Every executor by name; the CLI's ``--executor`` choices are its keys.
EXECUTORS: dict[str, Executor] = {"local": LocalExecutor(), "ray": RayExecutor()}


def get_executor(name: str) -> Executor:
    """The executor called ``name``; a ConfigError naming the known ones for any other name."""
    if name not in EXECUTORS:
        raise ConfigError(f"executor={name!r} is invalid; expected one of {tuple(EXECUTORS)}")
    return EXECUTORS[name]


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
                    sink(lost(jobs[i], error_message(error)))
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
    """Worker initializer: Ctrl-C is the driver's to handle (:func:`_run_pool` stops the workers itself)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


__all__ = ["EXECUTORS", "Call", "Execute", "Executor", "LocalExecutor", "Lost", "Sink", "get_executor"]
