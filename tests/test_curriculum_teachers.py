"""The Curriculum teachers (TSCL, EXP3, ALP, fixed curricula, PUDF, Curriculum Designer): each one's
mechanism on a tiny scripted env or on hand-made profiles, valid actions, and same seed, same choices."""

from __future__ import annotations

from collections import deque

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from teachgym import agents
from teachgym.agents.curriculum_designer import designer_order
from teachgym.agents.fixed_curricula import cyclical_shares
from teachgym.agents.pudf import fit_rasch
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


# ---------------------------------------------------------------------------------------------------
# Fixed curricula


def test_easy_to_hard_advances_on_the_threshold_and_skips_mastered_tasks() -> None:
    teacher = started("easy-to-hard", threshold=0.5, max_steps_per_task=100, then="stay")
    profiles = [[0, 0, 0, 0], [0.4, 0, 0, 0], [0.6, 0, 0, 0], [0.6, 0.7, 0.9, 0], [0.6, 0.7, 0.9, 0.5]]
    assert [int(teacher.act(obs_of(p), {})) for p in profiles] == [0, 0, 1, 3, 3]
    teacher = started("hard-to-easy", threshold=0.5, max_steps_per_task=100)
    assert int(teacher.act(obs_of([0, 0, 0, 0]), {})) == 3
    assert int(teacher.act(obs_of([0, 0, 0, 0.8]), {})) == 2


def test_easy_to_hard_caps_the_steps_per_task_and_reviews_uniformly_at_the_end() -> None:
    teacher = started("easy-to-hard", threshold=1.0, max_steps_per_task=2, seed=1)
    actions = [int(teacher.act(obs_of([0.0] * 4), {})) for _ in range(8 + 200)]
    assert actions[:8] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert set(actions[8:]) == {0, 1, 2, 3}  # then="uniform"


def test_easy_to_hard_default_cap_is_an_equal_share_of_the_episode() -> None:
    teacher = started("easy-to-hard", threshold=1.0)
    num_steps = 8  # read off the budget: 2 steps per task
    actions = [int(teacher.act(obs_of([0.0] * 4, budget=1 - s / num_steps), {})) for s in range(num_steps)]
    assert actions == [0, 0, 1, 1, 2, 2, 3, 3]


def test_cyclical_schedule_cycles_the_share_of_tasks_in_use() -> None:
    assert cyclical_shares(0.25, 0.5, 1.0) == [0.25, 0.5, 1.0, 0.5]
    assert cyclical_shares(0.1, 0.5, 0.4) == [0.1, 0.2, 0.4, 0.2]
    teacher = started("cyclical", num_tasks=8, epoch_steps=4)
    # Epochs at shares 0.25, 0.5, 1, 0.5 last 1, 2, 4, 2 steps and use the easiest 2, 4, 8, 4 tasks.
    assert teacher.schedule == [2, 4, 4, 8, 8, 8, 8, 4, 4]
    actions = [int(teacher.act(obs_of([0.0] * 8), {})) for _ in range(9 * 40)]
    limits = teacher.schedule * 40
    assert all(a < limit for a, limit in zip(actions, limits, strict=True))
    assert max(a for a, limit in zip(actions, limits, strict=True) if limit == 8) == 7


# ---------------------------------------------------------------------------------------------------
# PUDF


def test_rasch_fit_recovers_difficulty_order_and_ability() -> None:
    b_true = np.array([-1.5, 0.4, -0.3, 1.8])
    theta_true = np.linspace(-2.0, 2.5, 60)
    accuracy = 1.0 / (1.0 + np.exp(-(theta_true[:, None] - b_true[None, :])))
    theta, b = fit_rasch(accuracy, np.linspace(-1, 1, 4), ability_scale=10.0, difficulty_scale=10.0)
    assert list(np.argsort(b)) == list(np.argsort(b_true))  # the prior's index order is overruled
    np.testing.assert_allclose(b - b.mean(), b_true - b_true.mean(), atol=0.3)
    assert np.corrcoef(theta, theta_true)[0, 1] > 0.99
    np.testing.assert_allclose(theta - b.mean(), theta_true - b_true.mean(), atol=0.4)


def test_rasch_fit_is_finite_on_all_wrong_and_all_right() -> None:
    theta, b = fit_rasch(np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]), np.linspace(-1, 1, 3))
    assert np.all(np.isfinite(theta)) and np.all(np.isfinite(b)) and theta[1] > theta[0]
    assert list(np.argsort(b)) == [0, 1, 2]  # without information the prior keeps the index order


def test_irt_ability_trains_the_hardest_task_below_the_ability() -> None:
    teacher = started("irt-ability", stall_step=0.5, pick="hardest")
    rising = [[0.3 + 0.1 * t, 0.1 + 0.1 * t, 0.05 * t, 0.0] for t in range(6)]
    for profile in rising:
        action = int(teacher.act(obs_of(profile), {}))
        assert teacher.capacity == pytest.approx(teacher.theta[-1])  # improved: capacity = ability
        eligible = np.flatnonzero(teacher.difficulty <= teacher.capacity)
        expected = eligible[np.argmax(teacher.difficulty[eligible])] if eligible.size else 0
        assert action == expected
    assert action >= 1  # a harder task than the first once the ability has grown


def test_irt_ability_by_default_draws_uniformly_among_tasks_below_the_ability() -> None:
    teacher = started("irt-ability", stall_step=0.5)
    rising = [[0.3 + 0.1 * t, 0.1 + 0.1 * t, 0.05 * t, 0.0] for t in range(6)] + [[0.9, 0.8, 0.5, 0.1]] * 30
    chosen = []
    for profile in rising:
        action = int(teacher.act(obs_of(profile), {}))
        eligible = np.flatnonzero(teacher.difficulty <= teacher.capacity)
        assert action in (eligible if eligible.size else [int(np.argmin(teacher.difficulty))])
        chosen.append(action)
    assert len(set(chosen[-30:])) >= 2  # not always the hardest eligible one


def test_irt_ability_raises_the_capacity_when_the_ability_stalls() -> None:
    teacher = started("irt-ability", stall_step=0.5)
    teacher.act(obs_of([0.9, 0.5, 0.1, 0.0]), {})
    capacity = teacher.capacity
    for t in range(1, 4):
        teacher.act(obs_of([0.9 - 0.1 * t, 0.5 - 0.1 * t, 0.1, 0.0]), {})  # getting worse
        assert teacher.capacity == pytest.approx(capacity + 0.5 * t)
    teacher.difficulty, teacher.capacity = np.array([0.0, 1.0, 2.0, 3.0]), -1.0
    assert teacher.choose() == 0  # nothing qualifies: the easiest


# ---------------------------------------------------------------------------------------------------
# Curriculum Designer


def test_curriculum_designer_orders_classes_from_training_pool_similarity() -> None:
    # Class 2 (30 degrees) is the most central: its distances 0.134, 0.5, 0.357 vary least. From it,
    # "designer" goes from the most dissimilar class (1, 0.5) to the most similar (0, 0.134).
    assert started("curriculum-designer").designed == [2, 1, 3, 0]
    assert started("curriculum-designer", rule="nearest").designed == [2, 0, 3, 1]
    assert started("curriculum-designer", rule="farthest").designed == [2, 1, 0, 3]
    teacher = started("curriculum-designer", threshold=0.5, max_steps_per_task=100)
    assert int(teacher.act(obs_of([0, 0, 0, 0]), {})) == 2
    assert int(teacher.act(obs_of([0, 0, 0.6, 0]), {})) == 1


def test_designer_order_ties_go_to_the_lower_index() -> None:
    distances = 1.0 - np.eye(3)  # all equally far apart
    assert designer_order(distances) == [0, 1, 2]


def test_curriculum_designer_needs_a_training_pool() -> None:
    with pytest.raises(UnsupportedError, match="train_pool"):
        agents.make("curriculum-designer", ScriptedCurriculumEnv(domain=object()))


def test_irt_ability_refuses_sub_tasks_without_a_difficulty_order() -> None:
    env = gym.make("teachgym/Curriculum-ClassIncremental-Digits-v0")
    with pytest.raises(UnsupportedError, match="ordered by difficulty"):
        agents.make("irt-ability", env)
    agents.make("irt-ability", gym.make("teachgym/Curriculum-Addition-v0"))


@pytest.mark.parametrize("name", ["tscl-online", "tscl-window"])  # Naive picks this way between bursts
def test_thompson_selection_samples_around_q_and_narrows_with_visits(name: str) -> None:
    teacher = started(name, selection="thompson")
    teacher.q = np.array([0.0, 0.5, 0.0, 0.0])
    teacher.recent_rewards.extend([0.0, 0.5])  # spread 0.25
    chosen = [teacher.choose(np.zeros(4)) for _ in range(400)]
    assert 0.5 < np.mean(np.array(chosen) == 1) < 0.95  # the best mostly, the others sometimes
    teacher.visits[:] = 10_000  # well known: the draws collapse onto Q
    assert all(teacher.choose(np.zeros(4)) == 1 for _ in range(50))
