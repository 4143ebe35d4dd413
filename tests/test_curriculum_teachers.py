"""The Curriculum teachers on a tiny scripted env: every one registered, with valid actions and same seed,
same choices; TSCL, EXP3 and ALP's mechanisms on hand-made profiles. Also the scripted env and helpers
that tests/test_curriculum_fixed.py (fixed curricula, PUDF, Curriculum Designer) uses."""

from __future__ import annotations

from collections import deque

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from teachgym import agents
from teachgym.agents.tscl import select
from teachgym.domains.base import Items
from teachgym.errors import ConfigError, UnsupportedError
from teachgym.task import TaskDescription

CURRICULUM_TEACHERS = (
    "tscl-online",
    "tscl-naive",
    "tscl-window",
    "tscl-sampling",
    "exp3",
    "alp",
    "easy-to-hard",
    "hard-to-easy",
    "cyclical",
    "irt-ability",
    "curriculum-designer",
)

#: Class-mean directions (degrees) of the hand-made pool: cosine distances between the classes are
#: 0-1: 1.000, 0-2: 0.134, 0-3: 0.826, 1-2: 0.500, 1-3: 0.015, 2-3: 0.357.
POOL_ANGLES = (0.0, 90.0, 30.0, 80.0)


class HandMadeDomain:
    """A training pool of four classes in 2-D whose class means point at ``POOL_ANGLES``."""

    def train_pool(self) -> Items:
        skill, features = [], []
        for k, angle in enumerate(np.deg2rad(POOL_ANGLES)):
            direction = np.array([np.cos(angle), np.sin(angle)])
            for radius in (1.0, 3.0):  # norms differ; the cosine of the class mean does not care
                skill.append(k)
                features.append(radius * direction)
        skill_array = np.array(skill, dtype=np.int64)
        return Items(
            skill=skill_array,
            level=np.zeros_like(skill_array),
            answer=skill_array.copy(),
            features=np.array(features, dtype=np.float32),
        )

    def heldout(self, split: str) -> Items:
        raise AssertionError("a teacher must never read held-out items")


class ScriptedCurriculumEnv(gym.Env):
    """K sub-tasks with scripted learning curves: training sub-task ``k`` moves its score a share
    ``0.4 / (k + 1)`` of the way to 1, and every score first decays by ``decay`` (forgetting)."""

    family = "Curriculum"

    def __init__(self, num_tasks: int = 4, num_steps: int = 30, decay: float = 0.02, domain=None) -> None:
        self.num_tasks, self.num_steps, self.decay = num_tasks, num_steps, decay
        self.rates = 0.4 / (1.0 + np.arange(num_tasks))
        self.domain = domain
        self.action_space = spaces.Discrete(num_tasks)
        self.observation_space = spaces.Dict(
            {
                "profile": spaces.Box(0.0, 1.0, (num_tasks,), np.float32),
                "budget": spaces.Box(0.0, 1.0, (1,), np.float32),
                "last_task": spaces.Box(0.0, 1.0, (num_tasks,), np.float32),
            }
        )

    def _obs(self) -> dict[str, np.ndarray]:
        return {
            "profile": self.scores.astype(np.float32),
            "budget": np.array([1.0 - self.t / self.num_steps], np.float32),
            "last_task": self.last.astype(np.float32),
        }

    def describe(self) -> TaskDescription:
        """What a teacher may know (``agents.make(name, env)`` builds teachers from this)."""
        train_pool = getattr(self.domain, "train_pool", None)
        return TaskDescription(
            family=self.family,
            action_kind="choice",
            observation_space=self.observation_space,
            action_space=self.action_space,
            skill_names=tuple(f"task-{k}" for k in range(self.num_tasks)),
            num_levels=1,
            num_steps=self.num_steps,
            examples_per_step=1,
            training_pool=train_pool() if callable(train_pool) else None,
        )

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.scores = np.zeros(self.num_tasks)
        self.last = np.zeros(self.num_tasks)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        assert self.action_space.contains(action), action
        task = int(action)
        before = self.scores.mean()
        self.scores *= 1.0 - self.decay
        self.scores[task] += self.rates[task] * (1.0 - self.scores[task])
        self.last = np.eye(self.num_tasks)[task]
        self.t += 1
        return self._obs(), float(self.scores.mean() - before), False, self.t >= self.num_steps, {}


def obs_of(profile, budget: float = 1.0) -> dict[str, np.ndarray]:
    profile = np.asarray(profile, dtype=np.float32)
    return {"profile": profile, "budget": np.array([budget], np.float32), "last_task": np.zeros_like(profile)}


def started(name: str, num_tasks: int = 4, seed: int = 0, **knobs):
    """Teacher ``name`` for a scripted env with ``num_tasks`` sub-tasks, reset with ``seed``."""
    env = ScriptedCurriculumEnv(num_tasks, domain=HandMadeDomain())
    teacher = agents.make(name, env, **knobs)
    teacher.reset(env.observation_space, env.action_space, seed=seed)
    return teacher


def rollout(name: str, seed: int, **knobs) -> list[int]:
    env = ScriptedCurriculumEnv(domain=HandMadeDomain())
    teacher = agents.make(name, env, **knobs)
    obs, info = env.reset(seed=seed)
    teacher.reset(env.observation_space, env.action_space, seed=seed)
    actions, done = [], False
    while not done:
        action = teacher.act(obs, info)
        assert env.action_space.contains(action), (name, action)
        actions.append(int(action))
        obs, reward, terminated, truncated, info = env.step(action)
        teacher.observe(obs, reward, terminated, truncated, info)
        done = terminated or truncated
    return actions


def drive(teacher, profiles) -> list[int]:
    """Feed ``profiles[0]`` to ``act``, then each next profile to ``observe`` and ``act``."""
    actions = [int(teacher.act(obs_of(profiles[0]), {}))]
    for profile in profiles[1:]:
        teacher.observe(obs_of(profile), 0.0, False, False, {})
        actions.append(int(teacher.act(obs_of(profile), {})))
    return actions


# ---------------------------------------------------------------------------------------------------
# Every teacher


def test_the_curriculum_teachers_are_registered_for_the_family() -> None:
    for name in CURRICULUM_TEACHERS:
        spec = agents.spec(name)
        assert spec.families == ("Curriculum",) and spec.paper and spec.summary
        assert agents.spec(name).factory.__doc__ and "Args" in agents.spec(name).factory.__doc__


@pytest.mark.parametrize("name", CURRICULUM_TEACHERS)
def test_actions_are_valid_and_the_same_seed_gives_the_same_choices(name: str) -> None:
    first = rollout(name, seed=3)
    assert first == rollout(name, seed=3)
    assert len(first) == 30 and all(0 <= a < 4 for a in first)


def test_knobs_are_checked() -> None:
    env = ScriptedCurriculumEnv()
    with pytest.raises(ConfigError, match="selection='softmax'"):
        agents.make("tscl-window", env, selection="softmax")
    with pytest.raises(ConfigError, match=r"epsilon=1\.5"):
        agents.make("tscl-naive", env, epsilon=1.5)
    with pytest.raises(ConfigError, match="burst=1"):
        agents.make("tscl-naive", env, burst=1)
    with pytest.raises(ConfigError, match="absolute=1"):
        agents.make("tscl-online", env, absolute=1)
    with pytest.raises(ConfigError, match="gamma=0"):
        agents.make("exp3", env, gamma=0.0)
    with pytest.raises(ConfigError, match=r"multiplier=1\.0"):
        agents.make("cyclical", env, multiplier=1.0)
    with pytest.raises(ConfigError, match="pick='easiest'"):
        agents.make("irt-ability", env, pick="easiest")


def test_a_teacher_refuses_an_env_without_a_discrete_choice() -> None:
    env = ScriptedCurriculumEnv()
    env.action_space = spaces.Box(0.0, 1.0, (4,), np.float32)
    with pytest.raises(UnsupportedError, match="Discrete"):
        agents.make("tscl-online", env)


# ---------------------------------------------------------------------------------------------------
# TSCL


def random_profiles(num_steps: int, num_tasks: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.0, 1.0, (num_steps, num_tasks)).astype(np.float32)


@pytest.mark.parametrize("observe", ["chosen", "all"])
def test_tscl_online_updates_q_with_the_exponential_average_of_progress(observe: str) -> None:
    alpha = 0.3
    teacher = started("tscl-online", alpha=alpha, epsilon=1.0, observe=observe)  # random choices
    profiles = random_profiles(25).astype(np.float64)
    q, visit = np.zeros(4), profiles[0].copy()
    task = int(teacher.act(obs_of(profiles[0]), {}))
    for t in range(1, len(profiles)):
        teacher.observe(obs_of(profiles[t]), 0.0, False, False, {})
        if observe == "chosen":  # change since the task's last visit
            q[task] = alpha * (profiles[t][task] - visit[task]) + (1 - alpha) * q[task]
        else:  # every task from its one-step change
            q = alpha * (profiles[t] - profiles[t - 1]) + (1 - alpha) * q
        visit[task] = profiles[t][task]
        np.testing.assert_allclose(teacher.q, q, atol=1e-6)
        task = int(teacher.act(obs_of(profiles[t]), {}))


def test_tscl_online_greedy_picks_the_largest_absolute_q() -> None:
    teacher = started("tscl-online", alpha=1.0, epsilon=0.0)
    teacher.act(obs_of([0.5] * 4), {})
    teacher.q = np.array([0.1, -0.4, 0.2, 0.0])
    assert int(teacher.act(obs_of([0.5] * 4), {})) == 1  # forgetting attracts practice
    teacher = started("tscl-online", alpha=1.0, epsilon=0.0, absolute=False)
    teacher.act(obs_of([0.5] * 4), {})
    teacher.q = np.array([0.1, -0.4, 0.2, 0.0])
    assert int(teacher.act(obs_of([0.5] * 4), {})) == 2


@pytest.mark.parametrize("observe", ["chosen", "all"])
def test_tscl_window_slope_equals_polyfit_over_the_window(observe: str) -> None:
    window = 4
    teacher = started("tscl-window", window=window, epsilon=1.0, observe=observe)
    profiles = random_profiles(30, seed=1).astype(np.float64)
    history: list[list[tuple[int, float]]] = [[(0, float(profiles[0][k]))] for k in range(4)]
    task = int(teacher.act(obs_of(profiles[0]), {}))
    for t in range(1, len(profiles)):
        teacher.observe(obs_of(profiles[t]), 0.0, False, False, {})
        for k in range(4) if observe == "all" else [task]:
            history[k].append((t, float(profiles[t][k])))
            times, scores = np.array(history[k][-window:]).T
            assert teacher.q[k] == pytest.approx(np.polyfit(times, scores, 1)[0], abs=1e-9)
        task = int(teacher.act(obs_of(profiles[t]), {}))


def test_tscl_naive_trains_bursts_and_smooths_their_slope() -> None:
    burst, alpha = 3, 0.5
    teacher = started("tscl-naive", burst=burst, alpha=alpha, epsilon=1.0)
    profiles = random_profiles(3 * burst + 1, seed=2).astype(np.float64)
    actions = drive(teacher, profiles)
    q = np.zeros(4)
    for start in range(0, 3 * burst, burst):
        run = actions[start : start + burst]
        assert len(set(run)) == 1  # one sub-task for the whole burst
        task = run[0]
        slope = np.polyfit(np.arange(1, burst + 1), profiles[start + 1 : start + burst + 1, task], 1)[0]
        q[task] = alpha * slope + (1 - alpha) * q[task]
    np.testing.assert_allclose(teacher.q, q, atol=1e-9)


def test_tscl_sampling_tries_empty_buffers_first_then_the_largest_draw() -> None:
    progress = {0: 0.1, 1: -0.5, 2: 0.3}  # sub-task 1 is being forgotten
    for absolute, expected in ((True, 1), (False, 2)):
        teacher = started("tscl-sampling", num_tasks=3, window=1, absolute=absolute)
        profile = np.full(3, 0.6)
        first = []
        task = int(teacher.act(obs_of(profile), {}))
        for _ in range(3):
            first.append(task)
            profile = profile.copy()
            profile[task] += progress[task]
            teacher.observe(obs_of(profile), 0.0, False, False, {})
            task = int(teacher.act(obs_of(profile), {}))
        assert sorted(first) == [0, 1, 2]  # every empty buffer was tried before any repeat
        np.testing.assert_allclose([b[0] for b in teacher.buffers], [0.1, -0.5, 0.3], atol=1e-6)
        assert task == expected


def test_tscl_sampling_draws_one_reward_per_buffer() -> None:
    teacher = started("tscl-sampling", num_tasks=2, window=2)
    teacher.act(obs_of([0.5, 0.5]), {})
    teacher.buffers = [deque([0.1, 0.9], maxlen=2), deque([0.5, 0.5], maxlen=2)]
    picks = [int(teacher.act(obs_of([0.5, 0.5]), {})) for _ in range(4000)]
    assert np.mean(np.array(picks) == 0) == pytest.approx(0.5, abs=0.03)  # 0 wins when 0.9 is drawn


def test_selection_rules_follow_their_distributions() -> None:
    rng = np.random.default_rng(0)
    values = np.array([0.0, 0.002, 0.001])
    draws = [select(values, "boltzmann", rng, epsilon=0.0, temperature=0.001) for _ in range(20000)]
    softmax = np.exp(values / 0.001) / np.exp(values / 0.001).sum()
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / 20000, softmax, atol=0.015)
    draws = [select(values, "epsilon-greedy", rng, epsilon=0.3, temperature=1.0) for _ in range(20000)]
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / 20000, [0.1, 0.8, 0.1], atol=0.015)


@pytest.mark.parametrize("name", ["tscl-online", "tscl-window"])  # Naive picks this way between bursts
def test_thompson_selection_samples_around_q_and_narrows_with_visits(name: str) -> None:
    teacher = started(name, selection="thompson")
    teacher.q = np.array([0.0, 0.5, 0.0, 0.0])
    teacher.recent_rewards.extend([0.0, 0.5])  # spread 0.25
    chosen = [teacher.choose(np.zeros(4)) for _ in range(400)]
    assert 0.5 < np.mean(np.array(chosen) == 1) < 0.95  # the best mostly, the others sometimes
    teacher.visits[:] = 10_000  # well known: the draws collapse onto Q
    assert all(teacher.choose(np.zeros(4)) == 1 for _ in range(50))


# ---------------------------------------------------------------------------------------------------
# Bandits


def test_exp3_weights_after_known_rewards() -> None:
    gamma, num_tasks = 0.2, 3
    teacher = started("exp3", num_tasks=num_tasks, gamma=gamma, rescale="range")
    weights = np.ones(num_tasks)
    profile, visit = np.full(3, 0.5), np.full(3, 0.5)
    gains = {0: 0.05, 1: -0.2, 2: 0.1}
    task = int(teacher.act(obs_of(profile), {}))
    for _ in range(12):
        p = (1 - gamma) * weights / weights.sum() + gamma / num_tasks
        np.testing.assert_allclose(teacher.probabilities(), p, atol=1e-7)
        profile = np.clip(profile + np.eye(3)[task] * gains[task], 0, 1)
        teacher.observe(obs_of(profile), 0.0, False, False, {})
        reward = abs(float(np.float32(profile[task])) - float(np.float32(visit[task])))  # |progress|
        visit[task] = profile[task]
        weights[task] *= np.exp(gamma * reward / (p[task] * num_tasks))
        task = int(teacher.act(obs_of(profile), {}))
    np.testing.assert_allclose(teacher.probabilities(), (1 - gamma) * weights / weights.sum() + gamma / 3)


def test_exp3_quantile_rescaling_maps_the_20th_and_80th_percentiles_to_0_and_1() -> None:
    teacher = started("exp3")
    teacher.past.extend(np.linspace(0.0, 1.0, 101))
    assert teacher.scaled(0.1) == 0.0 and teacher.scaled(0.95) == 1.0
    assert teacher.scaled(0.5) == pytest.approx(0.5)


def test_alp_bootstraps_every_task_then_samples_in_proportion_to_alp() -> None:
    teacher = started("alp", random_share=0.2)
    profile = np.full(4, 0.2)
    gains = np.array([0.3, 0.0, 0.1, 0.0])
    task = int(teacher.act(obs_of(profile), {}))
    bootstrap = []
    for _ in range(4):
        bootstrap.append(task)
        profile = profile + np.eye(4)[task] * gains[task]
        teacher.observe(obs_of(profile), 0.0, False, False, {})
        task = int(teacher.act(obs_of(profile), {}))
    assert sorted(bootstrap) == [0, 1, 2, 3]
    np.testing.assert_allclose(teacher.alp, gains, atol=1e-6)
    expected = 0.8 * gains / gains.sum() + 0.2 / 4
    np.testing.assert_allclose(teacher.probabilities(), expected, atol=1e-6)
    picks = [int(teacher.act(obs_of(profile), {})) for _ in range(20000)]
    np.testing.assert_allclose(np.bincount(picks, minlength=4) / 20000, expected, atol=0.015)


def test_alp_counts_forgetting_between_visits() -> None:
    teacher = started("alp", num_tasks=2, random_share=0.0)
    first = int(teacher.act(obs_of([0.5, 0.5]), {}))
    profile = np.full(2, 0.5)
    profile[first] = 0.7
    teacher.observe(obs_of(profile), 0.0, False, False, {})
    second = int(teacher.act(obs_of(profile), {}))
    assert second == 1 - first  # the bootstrap
    profile[second], profile[first] = 0.6, 0.3  # the first task is forgotten meanwhile
    teacher.observe(obs_of(profile), 0.0, False, False, {})
    assert teacher.alp[second] == pytest.approx(0.1, abs=1e-6)
    third = int(teacher.act(obs_of(profile), {}))
    profile[third] += 0.05
    teacher.observe(obs_of(profile), 0.0, False, False, {})
    # Against the score after its previous training: 0.7 -> 0.35 for the forgotten task.
    assert teacher.alp[third] == pytest.approx(0.35 if third == first else 0.05, abs=1e-6)
