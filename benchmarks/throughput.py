"""Throughput of the batched vector envs and torch populations, the suite's wall time and memory.

    python benchmarks/throughput.py [--quick] [--json PATH] [--only NAME,...]
    python benchmarks/throughput.py --json benchmarks/results/throughput.jsonl   # the full run

Measurements (``NAME`` for ``--only``); each gives one record per id or suite:

- ``sim_native_vs_sync``: env steps/s (vector steps x N) of the batched vector env against
  Gymnasium's ``SyncVectorEnv`` over N single envs, N = 256 (``--quick``: 64), on the simulated id of
  every family: the same seeds and pre-drawn random actions (move 0 in Intervention), over one
  episode plus 10 steps after a reset (so autoresets are timed too). Target >= 50x.
- ``sim_counter_native_vs_sync``: the same on the loop-driven simulated ids whose latest version still
  draws from per-episode numpy generators, run with counter-based draws and multiscale forgetting
  (``random_numbers="counter"``, as ``Tutor-Sim-v1`` has them): what those draws give each family.
- ``tutor_learner_steps``: learner-steps/s of the native vector env of ``Tutor-Sim-v1`` at N = 1,024
  and 4,096 (``--quick``: 256), random exercises, over one episode plus 10 steps (its last step takes
  the validation and test splits, the reset both again) and, as ``steady``, over steps 10-130 of an
  episode (no assessment). Target >= 1,000,000.
- ``torch_population_vs_loop``: student updates/s (member-steps of ``learn``: 32 per population
  call) of one 32-member torch population against a Python loop over 32 one-member students
  learning the rows of the same ``(32, M)`` batches, ``M = examples_per_step``. Target >= 3x.
- ``env_overhead``: share of a single env's ``step`` wall time spent outside ``Student.learn`` and
  ``Student.attempt``, over default episodes under the ``random`` teacher, for every id with an MLP
  or GRU student (language-model ids are skipped: ``benchmarks/text_episode.py`` times those).
  Target <= 0.10.
- ``matmul_efficiency``: FLOP/s of the 32-member MLP population's ``learn`` (forward + backward =
  3 x forward, forward = 2 (DH + HC) per example) as a fraction of the FLOP/s of a 2048 x 2048 fp32
  ``torch.mm`` (best of 5). Aim >= 0.30.
- ``suite_wall``: seconds of ``teachgym bench SUITE --agents all --workers 2`` at the suite's default
  seeds (anchors included) in a subprocess, for ``quick`` and ``core-v2`` (not with ``--quick``).
  Target: core-v2, all teachers x 100 seeds, <= 20 min.
- ``ppo_wall``: seconds of stable-baselines3 PPO's ``learn`` for 10^6 env steps (``--quick``:
  2 x 10^4) on 64 students of ``SkillList-Sim-v1`` and ``Tutor-Sim-Dense-v0`` (Tutor's per-step
  reward, as ``teachgym train`` uses for PPO), with ``teachgym train``'s PPO settings and env stack
  (native vector env, a new student seed per episode, the policy adapter); ``detail`` gives the
  seconds of it spent in the vector env's ``step`` and ``reset`` and their share.
- ``peak_rss``: peak resident memory (MB = 2**20 bytes, the child's ``VmHWM``; its ``ru_maxrss`` is
  in ``detail``, see :func:`child_peak_mb`) of a fresh subprocess that steps a batched vector env of
  1024 SkillList-Sim-v0 students (target <= 500 MB) or of 32 SkillList-Digits-v0 MLP students;
  baseline: a subprocess that only imports teachgym.

Torch runs on one thread on both sides of every comparison (``torch.set_num_threads(1)`` and
``OMP_NUM_THREADS=1``, also in subprocesses), as in ``teachgym bench``, whose workers use one thread
each. Every timing uses ``time.perf_counter`` after a warm-up. Prints a table and optionally writes
JSON Lines: a ``meta`` record (command, machine, versions), then records ``{"name", "value", "unit",
"baseline", "ratio", "detail"}`` with ``ratio = value / baseline`` where both have the same unit
(else null) and the target and sizes in ``detail``.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector.utils import batch_space
from measurements import Record, record, run

import teachgym
from teachgym import agents
from teachgym.engines import Plan, allocate
from teachgym.envs import counter_settings
from teachgym.seeding import children

SEED = 0
#: The simulated id of every family with one (its latest version).
SIM_IDS = (
    "teachgym/SkillList-Sim-v1",
    "teachgym/SkillTree-Sim-v0",
    "teachgym/Curriculum-Sim-v0",
    "teachgym/Rehearsal-Sim-v0",
    "teachgym/Intervention-Sim-v0",
    "teachgym/Tutor-Sim-v1",
)
#: Loop-driven simulated ids still on per-episode generators, run on counter-based draws by
#: ``sim_counter_native_vs_sync`` (``teachgym.envs.counter_settings``).
COUNTER_IDS = SIM_IDS[:4]
#: Families whose actions are moves under a budget: the benchmark plays move 0 (no intervention),
#: which is always allowed, where random moves would be refused once the budget is spent.
BUDGETED = ("Intervention",)
MLP_IDS = ("teachgym/SkillList-Synthetic-v0", "teachgym/SkillList-Digits-v0")
NUM_MEMBERS = 32


# --------------------------------------------------------------- 1. simulated vector envs
def vector_steps(
    env_id: str, mode: str, num_envs: int, actions: list[Any], skip: int = 0, **kwargs: Any
) -> tuple[float, np.ndarray, int]:
    """Seconds of ``len(actions) - skip`` vector steps after ``reset(seed=SEED)`` and ``skip``
    untimed steps, the rewards ``(steps, N)`` and the number of episode ends."""
    vec = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode, **kwargs)
    vec.reset(seed=SEED)  # warm-up: first reset and steps
    for action in actions[:3]:
        vec.step(action)
    vec.reset(seed=SEED)
    for action in actions[:skip]:
        vec.step(action)
    rewards, ends = [], 0
    start = time.perf_counter()
    for action in actions[skip:]:
        _, reward, terminated, truncated, _ = vec.step(action)
        rewards.append(reward)
        ends += int(np.sum(terminated | truncated))
    seconds = time.perf_counter() - start
    vec.close()
    return seconds, np.array(rewards), ends


def sim_native_vs_sync(quick: bool) -> Iterator[Record]:
    """Env steps/s of the native vector env (value) and of ``SyncVectorEnv`` (baseline)."""
    yield from native_vs_sync(quick, "sim_native_vs_sync", SIM_IDS)


def sim_counter_native_vs_sync(quick: bool) -> Iterator[Record]:
    """:func:`sim_native_vs_sync` with counter-based draws and multiscale forgetting."""
    yield from native_vs_sync(quick, "sim_counter_native_vs_sync", COUNTER_IDS, counter=True)


def native_vs_sync(
    quick: bool, name: str, env_ids: tuple[str, ...], counter: bool = False
) -> Iterator[Record]:
    num_envs = 64 if quick else 256
    for env_id in env_ids:
        kwargs = counter_settings(env_id) if counter else {}
        single = gym.make(env_id, **kwargs)
        num_steps = single.unwrapped.num_steps + 10  # past the first episode end: autoresets included
        actions = random_actions(single, num_envs, num_steps)
        native_s, native_rewards, ends = vector_steps(
            env_id, "vector_entry_point", num_envs, actions, **kwargs
        )
        sync_s, sync_rewards, _ = vector_steps(env_id, "sync", num_envs, actions, **kwargs)
        env_steps = num_steps * num_envs
        yield record(
            f"{name}[{env_id}]",
            env_steps / native_s,
            "env-steps/s",
            env_steps / sync_s,
            target=">= 50x",
            num_envs=num_envs,
            vector_steps=num_steps,
            episode_ends=ends,
            max_reward_difference=float(np.abs(native_rewards - sync_rewards).max()),
        )


def random_actions(single: gym.Env[Any, Any], num_envs: int, num_steps: int) -> list[Any]:
    """``num_steps`` pre-drawn batches of ``num_envs`` random actions (move 0 in budgeted families)."""
    space = batch_space(single.action_space, num_envs)
    space.seed(SEED)
    if single.unwrapped.family in BUDGETED:  # type: ignore[attr-defined]
        return [np.zeros(num_envs, np.int64) for _ in range(num_steps)]
    return [space.sample() for _ in range(num_steps)]


def tutor_learner_steps(quick: bool) -> Iterator[Record]:
    """Learner-steps/s (env-steps: one exercise each) of the native vector env of ``Tutor-Sim-v1``
    at N = 1,024 and 4,096 (``--quick``: 256), random exercises, over one episode and 10 steps after
    the autoreset, and over steps 10-130 of an episode (``steady``: no test is taken). Target >=
    1,000,000 (10x a pure-Python simulator of the same kind, issue 15)."""
    env_id = "teachgym/Tutor-Sim-v1"
    single = gym.make(env_id)
    num_steps = single.unwrapped.num_steps + 10
    for num_envs in (256,) if quick else (1024, 4096):
        actions = random_actions(single, num_envs, num_steps)
        for label, skip, stop in (("", 0, num_steps), (",steady", 10, 130)):
            seconds, _, ends = vector_steps(env_id, "vector_entry_point", num_envs, actions[:stop], skip)
            yield record(
                f"tutor_learner_steps[N={num_envs}{label}]",
                (stop - skip) * num_envs / seconds,
                "learner-steps/s",
                target=">= 1,000,000",
                num_envs=num_envs,
                vector_steps=stop - skip,
                episode_ends=ends,
            )


# --------------------------------------------------------------- 2 and 4. torch populations
def population_and_batches(env_id: str, num_batches: int) -> tuple[Any, Any, list[Any]]:
    """The id's (unwrapped) env, a fresh ``NUM_MEMBERS`` population of its student, and
    ``num_batches`` ``(P, M)`` training batches from its engine under a uniform allocation."""
    env = gym.make(env_id).unwrapped
    config, skills = env.config, env.domain.skills
    population = config.population(env.domain, NUM_MEMBERS)
    population.reset_each(children(np.random.SeedSequence(SEED), NUM_MEMBERS))
    plan = Plan(
        allocate(np.ones((NUM_MEMBERS, skills.num_skills, skills.num_levels)), config.examples_per_step)
    )
    rng = np.random.default_rng(SEED)
    batches = [env.engine.generate(plan, rng) for _ in range(num_batches)]
    return env, population, batches


def time_learn(students: list[Any], batches: list[list[Any]]) -> float:
    """Seconds for every student to learn its batch ``batches[r][i]`` in every round ``r`` after
    the first (a warm-up)."""
    for student, batch in zip(students, batches[0], strict=True):
        student.learn(batch)
    start = time.perf_counter()
    for row in batches[1:]:
        for student, batch in zip(students, row, strict=True):
            student.learn(batch)
    return time.perf_counter() - start


def torch_population_vs_loop(quick: bool) -> Iterator[Record]:
    """Student updates/s of one population (value) and of a loop over one-member students (baseline)."""
    num_rounds = 10 if quick else 50
    for env_id in MLP_IDS:
        env, population, batches = population_and_batches(env_id, num_rounds + 1)
        seeds = children(np.random.SeedSequence(SEED), NUM_MEMBERS)
        members = [env.config.population(env.domain, 1) for _ in range(NUM_MEMBERS)]
        for member, seed in zip(members, seeds, strict=True):
            member.reset(seed)  # the same learner as population member p
        rows = [[batch.take(np.array([p])) for p in range(NUM_MEMBERS)] for batch in batches]
        population_s = time_learn([population], [[batch] for batch in batches])
        loop_s = time_learn(members, rows)
        validation = env.domain.heldout("validation")
        answers = np.concatenate([member.attempt(validation) for member in members])
        updates = num_rounds * NUM_MEMBERS
        yield record(
            f"torch_population_vs_loop[{env_id}]",
            updates / population_s,
            "updates/s",
            updates / loop_s,
            target=">= 3x",
            num_members=NUM_MEMBERS,
            examples_per_step=env.config.examples_per_step,
            rounds=num_rounds,
            same_answers_after=bool(np.array_equal(population.attempt(validation), answers)),
        )


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of the fastest of ``repeats`` fp32 ``torch.mm`` of two ``size x size`` matrices."""
    generator = torch.Generator().manual_seed(SEED)
    a, b = (torch.randn(size, size, generator=generator) for _ in range(2))
    torch.mm(a, b)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def matmul_efficiency(quick: bool) -> Iterator[Record]:
    """Achieved FLOP/s of population training as a fraction of a large matmul's (value);
    baseline: the matmul's GFLOP/s."""
    num_rounds = 10 if quick else 50
    peak = matmul_gflops()
    for env_id in MLP_IDS:
        _, population, batches = population_and_batches(env_id, num_rounds + 1)
        seconds = time_learn([population], [[batch] for batch in batches])
        d, h, c = population.num_features, population.num_hidden, population.num_classes
        examples = num_rounds * NUM_MEMBERS * population.num_epochs * len(batches[0])
        achieved = 3 * 2 * (d * h + h * c) * examples / seconds / 1e9
        yield record(
            f"matmul_efficiency[{env_id}]",
            achieved / peak,
            "fraction",
            peak,
            same_unit=False,
            target=">= 0.30",
            baseline_unit="GFLOP/s (2048x2048 fp32 torch.mm, best of 5)",
            achieved_gflops=achieved,
            shape={"D": d, "H": h, "C": c, "minibatch": population.minibatch_size},
        )


# --------------------------------------------------------------- 3. env overhead
def torch_ids() -> list[str]:
    """Registered ids whose student is a torch network other than the language model."""
    return [i for i in teachgym.envs.ids() if gym.spec(i).kwargs.get("student") in ("mlp", "gru")]


def step_overhead(env_id: str, num_episodes: int) -> tuple[float, float]:
    """Seconds in ``env.step`` over ``num_episodes`` episodes of the ``random`` teacher (after one
    warm-up episode), and the seconds of those inside the student's ``learn`` and ``attempt``."""
    env = gym.make(env_id)
    student = env.unwrapped.student
    inside = [0.0]
    for method in ("learn", "attempt"):
        original = getattr(student, method)

        def timed(*args: Any, _original: Callable[..., Any] = original) -> Any:
            start = time.perf_counter()
            try:
                return _original(*args)
            finally:
                inside[0] += time.perf_counter() - start

        setattr(student, method, timed)
    teacher = agents.as_teacher(agents.make("random", env))
    total = within = 0.0
    for episode in range(num_episodes + 1):
        obs, info = env.reset(seed=SEED + episode)
        teacher.reset(env.observation_space, env.action_space, seed=SEED + episode)
        done, spent, before = False, 0.0, inside[0]
        while not done:
            action = teacher.act(obs, info)
            start = time.perf_counter()
            obs, reward, terminated, truncated, info = env.step(action)
            spent += time.perf_counter() - start
            teacher.observe(obs, reward, terminated, truncated, info)
            done = terminated or truncated
        if episode > 0:  # the first episode is the warm-up
            total, within = total + spent, within + inside[0] - before
    return total, within


def env_overhead(quick: bool) -> Iterator[Record]:
    """Fraction of single-env step time outside the student's ``learn`` and ``attempt``."""
    skipped = [i for i in teachgym.envs.ids() if gym.spec(i).kwargs.get("student") == "lm"]
    print(f"  env_overhead skips the language-model ids: {', '.join(skipped)}")
    for env_id in torch_ids():
        num_episodes = 1 if quick else 3
        total, within = step_overhead(env_id, num_episodes)
        yield record(
            f"env_overhead[{env_id}]",
            (total - within) / total,
            "fraction",
            target="<= 0.10",
            step_seconds=total,
            student_seconds=within,
            episodes=num_episodes,
        )


# --------------------------------------------------------------- 5 and 6. subprocesses
def suite_seconds(suite: str) -> float:
    """Wall seconds of ``teachgym bench SUITE --agents all --workers 2`` (the suite's default seeds)
    in a subprocess."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "teachgym.cli", "bench", suite, "--agents", "all"]
        command += ["--out", out, "--workers", "2", "--quiet"]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return seconds


def suite_wall(quick: bool) -> Iterator[Record]:
    """Seconds of each suite at its default seed count, anchors included."""
    from teachgym.bench.suites import default_seeds

    for suite in ("quick",) if quick else ("quick", "core-v2"):
        seconds = suite_seconds(suite)
        target = "<= 1200 s (all teachers x 100 seeds)" if suite == "core-v2" else "none"
        yield record(
            f"suite_wall[{suite}]", seconds, "s", target=target, seeds=default_seeds(suite), workers=2
        )


_RSS_CHILD = """
import resource, sys
import gymnasium as gym
import teachgym
env_id, num_envs, num_steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if num_envs:
    vec = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
    vec.action_space.seed(0)
    vec.reset(seed=0)
    for _ in range(num_steps):
        vec.step(vec.action_space.sample())
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, status["VmHWM"].split()[0])
"""


def child_peak_mb(env_id: str = "", num_envs: int = 0, num_steps: int = 0) -> tuple[float, float]:
    """Peak RSS (MB) of a fresh Python that imports teachgym and, if ``num_envs``, builds the native
    vector env of ``env_id`` and takes ``num_steps`` random steps: its ``VmHWM`` and its ``ru_maxrss``.

    The value is ``VmHWM``: Linux carries a process's ``ru_maxrss`` over ``exec`` from the image it
    replaced, here a fork of this (large) process, so the child's ``ru_maxrss`` is at least this
    process's RSS at the fork; ``VmHWM`` belongs to the child's own address space. Both are in KiB.
    """
    command = [sys.executable, "-c", _RSS_CHILD, env_id, str(num_envs), str(num_steps)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    maxrss_kib, hwm_kib = (int(x) for x in done.stdout.split()[-2:])
    return hwm_kib / 1024, maxrss_kib / 1024


def peak_rss(quick: bool) -> Iterator[Record]:
    """Peak RSS (MB) of a subprocess stepping a big simulated and a 32-member torch vector env;
    baseline: a subprocess that only imports teachgym."""
    bare, bare_maxrss = child_peak_mb()
    yield record("peak_rss[import teachgym]", bare, "MB", target="none", ru_maxrss_mb=bare_maxrss)
    for env_id, num_envs, target in (
        ("teachgym/SkillList-Sim-v0", 1024, "<= 500 MB"),
        ("teachgym/SkillList-Digits-v0", NUM_MEMBERS, "none"),
    ):
        value, maxrss = child_peak_mb(env_id, num_envs, num_steps=5)
        name = f"peak_rss[{env_id} x{num_envs}]"
        yield record(name, value, "MB", bare, target=target, steps=5, ru_maxrss_mb=maxrss)


class _TimedVectorEnv(gym.vector.VectorWrapper):  # type: ignore[misc]
    """Adds up the wall seconds spent in the wrapped vector env's ``step`` and ``reset``."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self.seconds = 0.0

    def step(self, actions: Any) -> Any:
        start = time.perf_counter()
        result = self.env.step(actions)
        self.seconds += time.perf_counter() - start
        return result

    def reset(self, **kwargs: Any) -> Any:
        start = time.perf_counter()
        result = self.env.reset(**kwargs)
        self.seconds += time.perf_counter() - start
        return result


def ppo_seconds(env_id: str, num_envs: int, steps: int) -> tuple[float, float]:
    """Wall seconds of PPO's ``learn`` for ``steps`` env steps on ``num_envs`` students of ``env_id``
    (``teachgym train``'s settings and env stack, no evaluation), and the seconds of it in the env."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecMonitor

    from teachgym.rl.adapters import PolicyAdapter, PolicyVectorEnv
    from teachgym.rl.seed_stream import StudentSeedStream
    from teachgym.rl.vec_env import SB3VecEnv
    from teachgym.train import algo_defaults, train_seed_start

    timed = _TimedVectorEnv(gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point"))
    adapter = PolicyAdapter(timed.single_observation_space, timed.single_action_space, name=env_id)
    env = VecMonitor(SB3VecEnv(PolicyVectorEnv(StudentSeedStream(timed, train_seed_start(0)), adapter)))
    model = PPO(adapter.policy_name, env, seed=0, device="cpu", verbose=0, **algo_defaults("ppo", steps))
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    total = time.perf_counter() - start
    env.close()
    return total, timed.seconds


def ppo_wall(quick: bool) -> Iterator[Record]:
    """PPO's wall time for a million env steps on 64 students, and the env's share of it."""
    steps, num_envs = (20_000 if quick else 1_000_000), 64
    for env_id in ("teachgym/SkillList-Sim-v1", "teachgym/Tutor-Sim-Dense-v0"):
        total, in_env = ppo_seconds(env_id, num_envs, steps)
        yield record(
            f"ppo_wall[{env_id}]",
            total,
            "s",
            target="none",
            steps=steps,
            num_envs=num_envs,
            env_seconds=round(in_env, 2),
            env_share=round(in_env / total, 3),
        )


# --------------------------------------------------------------- main
MEASUREMENTS: dict[str, Callable[[bool], Iterator[Record]]] = {
    "sim_native_vs_sync": sim_native_vs_sync,
    "sim_counter_native_vs_sync": sim_counter_native_vs_sync,
    "tutor_learner_steps": tutor_learner_steps,
    "torch_population_vs_loop": torch_population_vs_loop,
    "env_overhead": env_overhead,
    "matmul_efficiency": matmul_efficiency,
    "suite_wall": suite_wall,
    "ppo_wall": ppo_wall,
    "peak_rss": peak_rss,
}


def main() -> None:
    run(__doc__ or "", MEASUREMENTS, quick_help="smaller sizes, core-v2 suite skipped")


if __name__ == "__main__":
    main()
