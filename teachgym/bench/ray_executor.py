"""The Ray executor: a sweep's episodes as Ray tasks on a local or an existing Ray cluster.

Each episode is one task (``num_cpus=1``, no retries: a failure becomes a failed record, as with
the local executor). Records come back to the driver, which appends them to the results file as
they finish, so resuming, the schema and the records themselves are the same as with
``--executor local`` (wall times aside). Needs the extra ``teachgym[ray]``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

from teachgym.errors import UnsupportedError


def run_ray(
    jobs: Sequence[Any],
    suite: str,
    command: str,
    anchors: dict[str, dict[str, Any]],
    sink: Callable[[dict[str, Any]], None],
    *,
    address: str | None = None,
) -> None:
    """Run ``jobs`` as Ray tasks and pass each record to ``sink`` as it finishes.

    Args:
        address: an existing cluster's address (``ray start --head`` prints it), or None to start a
            local Ray instance for this sweep (shut down at the end).
    """
    try:
        import ray
    except ImportError:
        raise UnsupportedError(
            "--executor ray needs Ray; install it with pip install 'teachgym[ray]'"
        ) from None
    from teachgym.bench.runner import _base_of_job, failed_record, run_job

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
    remote = ray.remote(num_cpus=1, max_retries=0)(run_job)
    pending = {remote.remote(job, suite, command, anchors[job.task.name]): job for job in jobs}
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                job = pending.pop(ref)
                try:
                    record = ray.get(ref)
                except Exception as error:  # the task's worker died, or Ray lost the task
                    record = failed_record(_base_of_job(job, suite, command), error, 0.0)
                sink(record)
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        if started:
            ray.shutdown()
