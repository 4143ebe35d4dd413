"""Core parts: skill spaces, profiles, allocation, engines and configuration checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from teachgym.config import parse_config
from teachgym.domains.latent import ARITHMETIC_SKILLS, LatentDomain
from teachgym.engines import Plan, PoolEngine, ProceduralEngine, allocate
from teachgym.errors import ConfigError
from teachgym.objectives import Cost, CostPenalty, TargetSkillGain, mean_accuracy_gain
from teachgym.skills import SkillSpace, profile_from_correct
from teachgym.students.simulated import SimulatedStudentParams


def test_skill_space_orders_prerequisites_first() -> None:
    order = ARITHMETIC_SKILLS.topological_order()
    position = {k: i for i, k in enumerate(order)}
    matrix = ARITHMETIC_SKILLS.prerequisite_matrix()
    for skill, need in zip(*np.nonzero(matrix), strict=True):
        assert position[need] < position[skill]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"names": ("a", "b"), "prerequisites": {"a": ("b",), "b": ("a",)}}, "cycle"),
        ({"names": ("a", "a")}, "unique"),
        ({"names": ()}, "at least one"),
        ({"names": ("a",), "prerequisites": {"a": ("z",)}}, "unknown skill 'z'"),
        ({"names": ("a",), "num_levels": 0}, "num_levels"),
    ],
)
def test_skill_space_refuses_bad_definitions(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SkillSpace(**kwargs)


def test_profile_aggregates_per_skill_and_level() -> None:
    skills = SkillSpace(("a", "b"), num_levels=2)
    skill = np.array([0, 0, 0, 1, 1, 1])
    level = np.array([0, 0, 1, 0, 1, 1])
    correct = np.array([[True, False, True, True, False, False]])
    profile = profile_from_correct(skills, skill, level, correct)
    np.testing.assert_allclose(profile.level_accuracy[0], [[0.5, 1.0], [1.0, 0.0]])
    np.testing.assert_allclose(profile.accuracy[0], [2 / 3, 1 / 3])
    assert profile.member(0).named() == {
        "a": pytest.approx(2 / 3, abs=1e-6),
        "b": pytest.approx(1 / 3, abs=1e-6),
    }


@given(
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12).filter(lambda w: sum(w) > 1e-6),
    st.integers(1, 500),
)
def test_allocate_sums_exactly_and_stays_within_one_of_the_share(weights: list, total: int) -> None:
    w = np.array([weights])
    counts = allocate(w, total)
    assert counts.sum() == total and np.all(counts >= 0)
    assert np.all(np.abs(counts - w / w.sum() * total) < 1.0)


def test_procedural_engine_follows_the_plan() -> None:
    domain = LatentDomain()
    counts = np.zeros((2, 8, 3), np.int64)
    counts[0, 1, 2] = 5
    counts[1, 3, 0] = 5
    batch = ProceduralEngine(domain).generate(Plan(counts), np.random.default_rng(0))
    assert batch.skill.shape == (2, 5)
    assert set(batch.skill[0].tolist()) == {1} and set(batch.level[0].tolist()) == {2}
    assert set(batch.skill[1].tolist()) == {3} and set(batch.level[1].tolist()) == {0}


def test_pool_engine_draws_only_from_the_pool() -> None:
    domain = LatentDomain(num_heldout=4)
    pool = domain.heldout("validation")  # any flat item set serves as a pool here
    engine = PoolEngine(pool, 8, 3)
    counts = allocate(np.ones((1, 8, 3)), 48)
    batch = engine.generate(Plan(counts), np.random.default_rng(1))
    assert set(batch.difficulty.ravel().tolist()) <= set(pool.difficulty.tolist())
    np.testing.assert_array_equal(np.bincount(batch.skill.ravel(), minlength=8), counts[0].sum(axis=1))


def test_parse_config_refuses_unknown_and_mistyped_values() -> None:
    with pytest.raises(ConfigError, match=r"unexpected keyword argument 'bogus'"):
        parse_config(SimulatedStudentParams, {"bogus": 1}, owner="student")
    with pytest.raises(ConfigError, match="guess='high' has type str; expected float"):
        parse_config(SimulatedStudentParams, {"guess": "high"}, owner="student")
    with pytest.raises(ConfigError, match="guess"):
        parse_config(SimulatedStudentParams, {"guess": 1.5}, owner="student")
    assert parse_config(SimulatedStudentParams, {"guess": 0}, owner="student").guess == 0


def test_objectives() -> None:
    skills = SkillSpace(("a", "b"))
    before = profile_from_correct(skills, np.array([0, 1]), np.array([0, 0]), np.array([[False, False]]))
    after = profile_from_correct(skills, np.array([0, 1]), np.array([0, 0]), np.array([[True, False]]))
    cost = Cost(examples=np.array([10.0]), compute=np.array([10.0]))
    np.testing.assert_allclose(mean_accuracy_gain(before, after, cost), [0.5])
    np.testing.assert_allclose(TargetSkillGain([0])(before, after, cost), [1.0])
    np.testing.assert_allclose(TargetSkillGain([1])(before, after, cost), [0.0])
    np.testing.assert_allclose(CostPenalty(mean_accuracy_gain, 0.01)(before, after, cost), [0.4])


def test_target_gain_rewards_only_the_named_hard_skills() -> None:
    """SOAR-style objective: the reward is the gain on a fixed subset of skills, so the return
    telescopes to that subset's final minus initial accuracy, whatever happens to the others."""
    import gymnasium as gym

    import teachgym  # noqa: F401

    names = list(gym.make("teachgym/SkillList-Sim-v0").unwrapped.skills.names)
    returns = {}
    for objective, skills in (("target-gain", names[-2:]), ("mean-gain", [])):
        env = gym.make("teachgym/SkillList-Sim-v0", objective=objective, objective_skills=skills)
        env.reset(seed=0)
        start, total, done = env.unwrapped.progress(), 0.0, False
        while not done:
            _, reward, _, done, _ = env.step(np.ones(env.action_space.shape, np.float32))
            total += reward
        returns[objective] = total
        assert total == pytest.approx(env.unwrapped.progress() - start, abs=1e-9)
    hard = env.unwrapped.profile.accuracy[[-2, -1]].mean()  # the same student under either objective
    assert env.unwrapped.progress() != pytest.approx(hard)
    assert returns["target-gain"] != pytest.approx(returns["mean-gain"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"objective": "target-gain"}, "objective_skills"),
        (
            {"objective": "target-gain", "objective_skills": ["no-such-skill"]},
            "unknown skill 'no-such-skill'",
        ),
        ({"objective_skills": ["addition"]}, "objective='mean-gain'"),
        ({"objective": "target-gain", "objective_skills": "addition"}, "a list of skill names"),
    ],
)
def test_target_gain_refuses_bad_skill_lists(kwargs: dict, message: str) -> None:
    import gymnasium as gym

    import teachgym  # noqa: F401

    with pytest.raises(ConfigError, match=message):
        gym.make("teachgym/SkillList-Sim-v0", **kwargs)
    with pytest.raises(ConfigError, match="target-gain"):
        gym.make("teachgym/Rehearsal-Sim-v0", objective="target-gain", objective_skills=["a"])
