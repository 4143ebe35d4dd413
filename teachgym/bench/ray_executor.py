"""The Ray executor: a sweep's episodes as Ray tasks on a local or an existing Ray cluster.

Each episode (a sweep's, or an anchor's) is one task (``num_cpus=1``, no retries: a failure becomes a
failed record, as with the local executor). Records come back to the driver, which appends them to
the results file as they finish, so resuming, the schema and the records themselves are the same as
with ``--executor local`` (wall times aside). Needs the extra ``teachgym[ray]``.

:class:`RayExecutor` is the ``ray`` entry of :data:`teachgym.bench.executors.EXECUTORS`; this module
imports nothing of the bench but the error formatting (:mod:`teachgym.bench.failures`), and Ray itself
only when a run or session starts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from teachgym.bench.failures import error_message
from teachgym.errors import UnsupportedError


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UnsupportedError(
            "--executor ray needs Ray; install it with pip install 'teachgym[ray]'"
        ) from None
    return ray


@contextmanager
def ray_session(address: str | None = None) -> Iterator[None]:
    """Hold a Ray instance for the enclosed calls of :func:`run_ray` (e.g. a sweep's anchors and its
    episodes): connect to ``address``, or start a local instance, and shut it down on exit; nothing
    if Ray is already initialized (its owner shuts it down)."""
    ray = _ray()
    started = not ray.is_initialized()
    if started:
        # Workers inherit this: one torch thread per episode, and no hub calls.
        env_vars = {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")}
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,
            runtime_env={"env_vars": env_vars},
        )
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def _apply(call: Callable[[Any], dict[str, Any]], job: Any) -> dict[str, Any]:
    """The Ray task: one job's result (``call`` is shared by every task through the object store)."""
    return call(job)


def run_ray(
    jobs: Sequence[Any],
    call: Callable[[Any], dict[str, Any]],
    sink: Callable[[dict[str, Any]], None],
    lost: Callable[[Any, str], dict[str, Any]],
    *,
    address: str | None = None,
) -> None:
    """Run ``call(job)`` for every job as a Ray task and pass each result to ``sink`` as it finishes;
    a task whose worker died (or that Ray lost) gives ``lost(job, error message)`` instead.

    Args:
        address: an existing cluster's address (``ray start --head`` prints it), or None to start a
            local Ray instance (shut down at the end, unless a :func:`ray_session` holds one).
    """
    with ray_session(address):
        ray = _ray()
        remote = ray.remote(num_cpus=1, max_retries=0)(_apply)
        shared = ray.put(call)
        pending = {remote.remote(shared, job): job for job in jobs}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    job = pending.pop(ref)
                    try:
                        result = ray.get(ref)
                    except Exception as error:  # the task's worker died, or Ray lost the task
                        result = lost(job, error_message(error))
                    sink(result)
        except KeyboardInterrupt:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise


class RayExecutor:
    """The ``ray`` executor (:class:`teachgym.bench.executors.Executor`): Ray tasks, one per job."""

    def session(self, address: str | None) -> AbstractContextManager[None]:
        """A Ray instance held for the enclosed runs (:func:`ray_session`)."""
        return ray_session(address)

    def run(
        self,
        jobs: Sequence[Any],
        call: Callable[[Any], dict[str, Any]],
        sink: Callable[[dict[str, Any]], None],
        lost: Callable[[Any, str], dict[str, Any]],
        *,
        workers: int,
        address: str | None,
    ) -> None:
        """:func:`run_ray` (``workers`` is not used: Ray gives each task one CPU of the cluster)."""
        run_ray(jobs, call, sink, lost, address=address)


__all__ = ["RayExecutor", "ray_session", "run_ray"]
