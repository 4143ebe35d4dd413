"""Counter-based random numbers, multiscale forgetting and tests taken only when read (issue 15)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import teachgym  # noqa: F401  (registers the ids)
from teachgym import counter
from teachgym.domains.base import Items
from teachgym.domains.latent import LatentDomain
from teachgym.envs import counter_settings
from teachgym.errors import UnsupportedError
from teachgym.students.memory import MultiscaleMemory, TraceMemory
from teachgym.students.simulated import SimulatedStudent, SimulatedStudentParams


def test_draws_are_a_function_of_key_and_counter_alone() -> None:
    keys = counter.keys_of(range(6))
    streams = counter.CounterStreams(keys, np.arange(6, dtype=np.uint64))
    first = streams.normal((50,))
    # The same (key, counter) draws the same in a batch of any size and order.
    again = counter.CounterStreams(keys[::-1], np.arange(6, dtype=np.uint64)[::-1]).normal((50,))
    np.testing.assert_array_equal(first, again[::-1])
    np.testing.assert_array_equal(
        first[2:3], counter.CounterStreams(keys[2:3], np.array([2], np.uint64)).normal((50,))
    )
    # Another counter, another key or another label draws otherwise.
    assert not np.array_equal(
        first, counter.CounterStreams(keys, np.arange(1, 7, dtype=np.uint64)).normal((50,))
    )
    assert not np.array_equal(counter.derive(keys, 1), counter.derive(keys, 2))


def test_draws_have_the_right_distribution() -> None:
    u = counter.uniform(counter.keys_of([7]), (200_000,))[0]
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.003 and abs(u.var() - 1 / 12) < 0.002
    z = counter.normal(counter.keys_of(range(400)), (500,))
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    assert abs(np.mean(z**4) - 3) < 0.05  # normal tails, not a sum of uniforms
    # Neighbouring keys are uncorrelated.
    assert abs(np.corrcoef(z[:-1].ravel(), z[1:].ravel())[0, 1]) < 0.01
    u32 = counter.to_unit32(counter.bits(counter.keys_of([3]), (100_000,)))
    assert u32.dtype == np.float32 and u32.min() >= 0 and u32.max() < 1 and abs(u32.mean() - 0.5) < 0.005


@pytest.mark.parametrize("exponent", [0.05, 0.2, 0.5, 1.0])
def test_multiscale_memory_follows_the_power_law(exponent: float) -> None:
    """One trace decays within 0.002 of ``(1 + t / tau) ** -d`` up to 1,000 tau."""
    scale = 10.0
    exact = TraceMemory(1, 1, np.full((1, 1), exponent), scale)
    multi = MultiscaleMemory(1, 1, np.full((1, 1), exponent), scale)
    for memory in (exact, multi):
        memory.add(np.ones((1, 1)), np.zeros((1, 1)))
    for age in (0.0, 1.0, 5.0, 30.0, 150.0, 1_000.0, 10_000.0):
        clock = np.full((1, 1), age)
        assert abs(multi.retained(clock)[0, 0] - exact.retained(clock)[0, 0]) < 0.002  # type: ignore[index]
    no_forgetting = MultiscaleMemory(1, 1, np.zeros((1, 1)), scale)
    no_forgetting.add(np.ones((1, 1)), np.zeros((1, 1)))
    assert no_forgetting.retained(np.full((1, 1), 1e6))[0, 0] == pytest.approx(1.0, abs=1e-6)


def _keyed(members: int, keys: np.ndarray | None = None) -> SimulatedStudent:
    params = SimulatedStudentParams(forgetting="multiscale", learning_rate_sd=0.5, guess_sd=0.4, slip_sd=0.4)
    student = SimulatedStudent(LatentDomain().skills, members, params)
    student.reset_keys(counter.keys_of(range(members)) if keys is None else keys)
    return student


def test_keyed_answers_are_pure_and_alike_in_any_population() -> None:
    validation = LatentDomain().heldout("validation")
    population = _keyed(5)
    answers = population.attempt(validation)
    np.testing.assert_array_equal(answers, population.attempt(validation))  # attempting changes nothing
    alone = _keyed(1, counter.keys_of([3]))
    np.testing.assert_array_equal(alone.prior, population.prior[3:4])
    np.testing.assert_array_equal(alone.attempt(validation), answers[3:4])
    # Items of equal difficulty are answered independently.
    same = Items(
        skill=np.zeros(4_000, np.int64),
        level=np.zeros(4_000, np.int64),
        answer=np.ones(4_000, np.int64),
        difficulty=np.zeros(4_000),
    )
    rate = alone.attempt(same).mean()
    assert 0.05 < rate < 0.95
    expected = alone.expected_accuracy(np.zeros((8, 3)))[0, 0, 0]
    assert abs(rate - expected) < 0.03


def test_counter_versions_grade_validation_only_when_read() -> None:
    """Tutor-Sim-v1 takes the validation test on the last step only, and its post-test reward is
    what the dense variant, which reads it every step, adds up to."""
    sparse, dense = gym.make("teachgym/Tutor-Sim-v1"), gym.make("teachgym/Tutor-Sim-Dense-v1")
    loop = sparse.unwrapped.loop
    graded = []
    original = loop.assess
    loop.assess = lambda items: graded.append(items is loop.validation) or original(items)
    sparse.reset(seed=4)
    dense.reset(seed=4)
    graded.clear()
    returns = [0.0, 0.0]
    for action in np.random.default_rng(0).integers(0, 24, 150):
        for i, env in enumerate((sparse, dense)):
            returns[i] += env.step(action)[1]
    assert graded == [True, False]  # the last step's validation test, then the final test split
    assert returns[0] == pytest.approx(returns[1], abs=1e-12)
    assert returns[0] != 0.0


def test_counter_draws_are_refused_where_a_family_or_student_cannot_take_them() -> None:
    with pytest.raises(UnsupportedError, match="random_numbers='counter' needs a family"):
        gym.make("teachgym/Intervention-Sim-v0", random_numbers="counter")
    with pytest.raises(UnsupportedError, match="a student with counter-based keys"):
        gym.make("teachgym/SkillList-Synthetic-v0", random_numbers="counter")


@pytest.mark.parametrize("env_id", ["teachgym/SkillList-Sim-v1", "teachgym/Curriculum-Sim-v0"])
def test_counter_draws_run_in_other_families_and_match_the_vector_env(env_id: str) -> None:
    single = gym.make(env_id, **counter_settings(env_id))
    vec = gym.make_vec(
        env_id, num_envs=3, vectorization_mode="vector_entry_point", **counter_settings(env_id)
    )
    vec.action_space.seed(0)
    vec_obs, _ = vec.reset(seed=10)
    obs, _ = single.reset(seed=12)
    np.testing.assert_array_equal(obs["budget"], vec_obs["budget"][2])
    for _ in range(single.unwrapped.num_steps):
        actions = vec.action_space.sample()
        vec_obs, vec_reward, *_ = vec.step(actions)
        obs, reward, *_ = single.step(actions[2])
        assert reward == vec_reward[2]
        for key in obs:
            np.testing.assert_array_equal(obs[key], vec_obs[key][2])


def test_the_vector_env_matches_single_envs_when_breaks_fall_on_different_steps() -> None:
    """Breaks between sessions reach the episodes of a vector env on different steps after a partial
    reset; each member's forgetting must still round as a single env's does."""
    env_id, settings = "teachgym/Tutor-Sim-v1", {"session_length": 10, "break_length": 7.5}
    vec = gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point", **settings)
    singles = [gym.make(env_id, **settings) for _ in range(3)]
    vec.reset(seed=20)
    for i, env in enumerate(singles):
        env.reset(seed=20 + i)
    actions = np.random.default_rng(1).integers(0, 24, (60, 3))
    for t, action in enumerate(actions):
        if t == 25:  # env 1 starts afresh: its breaks now fall on other steps than the others'
            vec.reset(seed=[None, 50, None], options={"reset_mask": np.array([False, True, False])})
            singles[1].reset(seed=50)
        vec_obs, vec_reward, *_ = vec.step(action)
        for i, env in enumerate(singles):
            obs, reward, *_ = env.step(action[i])
            assert reward == vec_reward[i]
            for key in obs:
                np.testing.assert_array_equal(obs[key], vec_obs[key][i])
    for i, env in enumerate(singles):
        np.testing.assert_array_equal(env.unwrapped.student.ability(), vec.student.ability()[i : i + 1])


def test_a_runner_reading_the_profile_gets_it_taken_now() -> None:
    """A step of Tutor-Sim-v1 skips the validation test; what reads the profile (a learning curve)
    gets the one the step would have taken, as Tutor-Sim-Dense-v1 takes it every step."""
    sparse, dense = gym.make("teachgym/Tutor-Sim-v1"), gym.make("teachgym/Tutor-Sim-Dense-v1")
    sparse.reset(seed=3)
    dense.reset(seed=3)
    for action in np.random.default_rng(2).integers(0, 24, 20):
        sparse.step(action)
        dense.step(action)
        assert sparse.unwrapped.mean_accuracy() == dense.unwrapped.mean_accuracy()
    assert sparse.unwrapped.state.graded.all()


def test_identical_heldout_splits_are_refused_on_counter_draws() -> None:
    with pytest.raises(UnsupportedError, match=r"item_sd=0\?"):
        gym.make("teachgym/Tutor-Sim-v1", domain_options={"item_sd": 0.0})
