"""Soak test: memory growth and throughput drift over long runs of a vector env and a torch env.

    python benchmarks/soak.py [--quick] [--json PATH] [--only NAME,...]
    python benchmarks/soak.py --json benchmarks/results/soak.jsonl   # the full run

Runs (``NAME`` for ``--only``); each gives four records:

- ``sim_vector``: the batched vector env of ``teachgym/SkillList-Sim-v0`` (simulated students),
  ``gym.make_vec(..., num_envs=256, vectorization_mode="vector_entry_point")``, for 10^6 env steps
  (vector steps x 256, rounded up to whole vector steps; ``--quick``: 10^5) of seeded random valid
  actions (the batched ``action_space.sample()`` after ``action_space.seed(0)``), with Gymnasium's
  next-step autoreset after every 30-step episode.
- ``torch_single``: one ``teachgym/SkillList-Digits-v0`` env (an MLP student in torch) via
  ``gym.make``, for 2,000 steps (``--quick``: 200) of seeded random valid actions, reset with seed
  ``0 + episode`` at every episode end (the reset is counted in the step's time).

The run is cut into 10 windows of equal numbers of calls. Memory is the process's resident set size
(``VmRSS`` in ``/proc/self/status``, MB = 2**20 bytes), read after every call; the *warm-up* is the
first window. Records per run:

- ``rss_end_vs_warmup[ID]``: RSS at the end (value) against RSS after the warm-up (baseline), both
  read after ``gc.collect()``; ``detail.growth_mb`` is the difference and ``detail.slope_mb_per_window``
  the least-squares slope of the window-end RSS after the warm-up; ``detail.python_blocks_growth``
  the change in ``sys.getallocatedblocks()`` (live Python objects' memory blocks) over the same
  span. Target: no growth beyond noise, taken as ``max(2 MB, 1% of the warm-up RSS)``.
- ``rss_max_vs_warmup[ID]``: the largest RSS read after any call after the warm-up (value, no
  ``gc.collect()``) against the same baseline.
- ``throughput_last_vs_first[ID]``: env steps/s of the last window (value) against the first
  (baseline); every window's rate is in ``detail.window_rates``. The first window includes first-call
  costs, so ``detail.last_vs_second`` is given too. Target: no drift (a ratio near 1).
- ``cpu_throughput_last_vs_first[ID]``: the same per second of this process's CPU time
  (``time.process_time``), which other processes on a shared machine disturb far less than wall time.

Torch runs on one thread (``torch.set_num_threads(1)``, ``OMP_NUM_THREADS=1``). Timings use
``time.perf_counter`` and ``time.process_time`` per call; the per-call arrays are allocated before
the run so the script's own bookkeeping does not grow. Prints a table and optionally writes JSON Lines like
``benchmarks/throughput.py``: a ``meta`` record (command, machine, versions, load average), then
records ``{"name", "value", "unit", "baseline", "ratio", "detail"}``. Other processes on the machine
change the throughput windows (see the load average in ``meta``), not the memory figures.
"""

from __future__ import annotations

import gc
import itertools
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym
import numpy as np
from measurements import Record, record, run

import teachgym  # noqa: F401  (registers the ids)

SEED = 0
SIM_ID = "teachgym/SkillList-Sim-v0"
TORCH_ID = "teachgym/SkillList-Digits-v0"
NUM_ENVS = 256
NUM_WINDOWS = 10
#: Memory growth below this many MB (or 1% of the warm-up RSS, if larger) counts as noise.
NOISE_FLOOR_MB = 2.0


def rss_mb() -> float:
    """This process's resident set size now (``VmRSS``), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("/proc/self/status has no VmRSS line; expected Linux")


def peak_rss_mb() -> float:
    """This process's peak resident set size so far (``VmHWM``), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("/proc/self/status has no VmHWM line; expected Linux")


def collected() -> tuple[float, int]:
    """RSS (MB) and the number of memory blocks Python has allocated (``sys.getallocatedblocks``),
    after a full garbage collection: garbage cycles awaiting collection are not a leak."""
    gc.collect()
    return rss_mb(), sys.getallocatedblocks()


@dataclass
class Soak:
    """Per-call seconds and RSS of a run of ``num_calls`` calls of ``env_steps_per_call`` env steps,
    and the RSS after ``gc.collect()`` at the end of the warm-up window and of the run."""

    env_steps_per_call: int
    seconds: np.ndarray
    cpu_seconds: np.ndarray
    rss: np.ndarray
    warm_rss: float
    end_rss: float
    warm_blocks: int
    end_blocks: int
    episode_ends: int

    def window_rates(self, cpu: bool = False) -> list[float]:
        """Env steps per second (wall, or ``cpu``: this process's CPU time) of each of the
        :data:`NUM_WINDOWS` windows of equal numbers of calls."""
        seconds = self.cpu_seconds if cpu else self.seconds
        edges = np.linspace(0, len(seconds), NUM_WINDOWS + 1).astype(int)
        return [
            float((hi - lo) * self.env_steps_per_call / seconds[lo:hi].sum())
            for lo, hi in itertools.pairwise(edges)
        ]

    def window_end_rss(self) -> list[float]:
        """RSS (MB) read after the last call of each window."""
        edges = np.linspace(0, len(self.rss), NUM_WINDOWS + 1).astype(int)
        return [float(self.rss[hi - 1]) for hi in edges[1:]]


def soak(step: Callable[[], int], num_calls: int, env_steps_per_call: int) -> Soak:
    """Call ``step`` (which returns the number of episode ends it saw) ``num_calls`` times, timing
    each call and reading RSS after it."""
    seconds, cpu_seconds, rss = np.zeros(num_calls), np.zeros(num_calls), np.zeros(num_calls)
    warm_up = int(np.linspace(0, num_calls, NUM_WINDOWS + 1).astype(int)[1])
    warm_rss, warm_blocks = math.nan, 0
    episode_ends = 0
    for i in range(num_calls):
        start, cpu_start = time.perf_counter(), time.process_time()
        episode_ends += step()
        seconds[i] = time.perf_counter() - start
        cpu_seconds[i] = time.process_time() - cpu_start
        rss[i] = rss_mb()
        if i == warm_up - 1:
            warm_rss, warm_blocks = collected()  # outside the timed call
    end_rss, end_blocks = collected()
    return Soak(
        env_steps_per_call,
        seconds,
        cpu_seconds,
        rss,
        warm_rss,
        end_rss,
        warm_blocks,
        end_blocks,
        episode_ends,
    )


def soak_records(env_id: str, run: Soak, **sizes: Any) -> Iterator[Record]:
    """The four records of a run: RSS at the end and at most, against the warm-up's, and wall and
    CPU throughput of the last window, against the first's."""
    warm_up = int(np.linspace(0, len(run.rss), NUM_WINDOWS + 1).astype(int)[1])
    after = run.rss[warm_up:]
    noise = max(NOISE_FLOOR_MB, 0.01 * run.warm_rss)
    growth = run.end_rss - run.warm_rss
    window_rss = run.window_end_rss()
    slope = float(np.polyfit(np.arange(NUM_WINDOWS - 1), window_rss[1:], 1)[0])
    env_steps = len(run.seconds) * run.env_steps_per_call
    common = dict(sizes, env_steps=env_steps, episode_ends=run.episode_ends, windows=NUM_WINDOWS)
    verdict = "met" if growth <= noise else "NOT MET"
    yield record(
        f"rss_end_vs_warmup[{env_id}]",
        run.end_rss,
        "MB",
        run.warm_rss,
        target=f"growth <= {noise:.1f} MB (noise): {verdict}",
        growth_mb=growth,
        noise_mb=noise,
        python_blocks_after_warmup=run.warm_blocks,
        python_blocks_growth=run.end_blocks - run.warm_blocks,
        slope_mb_per_window=slope,
        window_end_rss_mb=window_rss,
        peak_rss_mb=peak_rss_mb(),
        **common,
    )
    yield record(
        f"rss_max_vs_warmup[{env_id}]",
        float(after.max()),
        "MB",
        run.warm_rss,
        target=f"max growth {float(after.max()) - run.warm_rss:+.1f} MB",
        min_after_warmup_mb=float(after.min()),
        **common,
    )
    rates = run.window_rates()
    yield record(
        f"throughput_last_vs_first[{env_id}]",
        rates[-1],
        "env-steps/s",
        rates[0],
        target=f"no drift (last/second {rates[-1] / rates[1]:.3f})",
        window_rates=rates,
        last_vs_second=rates[-1] / rates[1],
        total_seconds=float(run.seconds.sum()),
        mean_rate=float(env_steps / run.seconds.sum()),
        **common,
    )
    cpu_rates = run.window_rates(cpu=True)
    yield record(
        f"cpu_throughput_last_vs_first[{env_id}]",
        cpu_rates[-1],
        "env-steps/cpu-s",
        cpu_rates[0],
        target=f"no drift (last/second {cpu_rates[-1] / cpu_rates[1]:.3f})",
        window_rates=cpu_rates,
        last_vs_second=cpu_rates[-1] / cpu_rates[1],
        total_cpu_seconds=float(run.cpu_seconds.sum()),
        **common,
    )


# --------------------------------------------------------------- runs
def sim_vector(quick: bool) -> Iterator[Record]:
    """10^6 (``--quick``: 10^5) env steps of the native vector env of simulated students."""
    total = 10**5 if quick else 10**6
    num_calls = math.ceil(total / NUM_ENVS)
    envs = gym.make_vec(SIM_ID, num_envs=NUM_ENVS, vectorization_mode="vector_entry_point")
    envs.action_space.seed(SEED)
    envs.reset(seed=SEED)

    def step() -> int:
        _, _, terminated, truncated, _ = envs.step(envs.action_space.sample())
        return int(np.sum(terminated | truncated))

    run = soak(step, num_calls, NUM_ENVS)
    envs.close()
    episode_length = gym.spec(SIM_ID).kwargs["num_steps"]
    yield from soak_records(
        SIM_ID, run, num_envs=NUM_ENVS, vector_steps=num_calls, episode_length=episode_length
    )


def torch_single(quick: bool) -> Iterator[Record]:
    """2,000 (``--quick``: 200) steps of one env whose student is a torch MLP."""
    num_calls = 200 if quick else 2_000
    env = gym.make(TORCH_ID)
    env.action_space.seed(SEED)
    env.reset(seed=SEED)
    episodes = [0]

    def step() -> int:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            episodes[0] += 1
            env.reset(seed=SEED + episodes[0])
            return 1
        return 0

    run = soak(step, num_calls, 1)
    env.close()
    yield from soak_records(TORCH_ID, run, episode_length=env.unwrapped.num_steps)


# --------------------------------------------------------------- main
RUNS: dict[str, Callable[[bool], Iterator[Record]]] = {
    "sim_vector": sim_vector,
    "torch_single": torch_single,
}


def main() -> None:
    run(__doc__ or "", RUNS, quick_help="10^5 vector-env and 200 torch steps", show_load=True)


if __name__ == "__main__":
    main()
