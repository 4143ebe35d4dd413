"""Students learn for real, with the mechanisms their docstrings claim."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from teachgym.domains.base import Items
from teachgym.domains.latent import LatentDomain
from teachgym.errors import ConfigError
from teachgym.skills import SkillSpace
from teachgym.students.simulated import SimulatedStudent, SimulatedStudentParams


def _items(skill: int, difficulty: float, count: int, members: int = 1) -> Items:
    shape = (members, count)
    return Items(
        skill=np.full(shape, skill),
        level=np.zeros(shape, np.int64),
        answer=np.ones(shape, np.int64),
        difficulty=np.full(shape, difficulty),
    )


def _student(**params: float) -> SimulatedStudent:
    skills = SkillSpace(("base", "next"), prerequisites={"next": ("base",)})
    student = SimulatedStudent(skills, 1, SimulatedStudentParams(**params))
    student.reset(np.random.SeedSequence(0))
    return student


def test_practice_raises_ability_with_diminishing_returns() -> None:
    student = _student(forgetting_exponent=0.0)
    start = student.ability()[0, 0]
    gains = []
    for _ in range(5):
        before = student.ability()[0, 0]
        student.learn(_items(0, before - student.params.zpd_centre, 20))  # pitched in the ZPD
        gains.append(student.ability()[0, 0] - before)
    assert student.ability()[0, 0] > start + 1.0
    assert all(later < earlier for earlier, later in itertools.pairwise(gains))


def test_items_far_too_hard_or_easy_teach_little() -> None:
    gains = {}
    for name, offset in {"zpd": -1.7, "too hard": 4.0, "too easy": -6.0}.items():
        student = _student(forgetting_exponent=0.0)
        theta = student.ability()[0, 0]
        student.learn(_items(0, theta + offset, 20))
        gains[name] = student.ability()[0, 0] - theta
    assert gains["zpd"] > 5 * gains["too hard"]
    assert gains["zpd"] > 5 * gains["too easy"]


def test_prerequisites_gate_learning() -> None:
    novice, expert = _student(forgetting_exponent=0.0), _student(forgetting_exponent=0.0)
    novice.prior[0, 0] = -3.5  # the prerequisite is far from mastered
    expert.prior[0, 0] = 2.5  # the prerequisite is mastered
    for student in (novice, expert):
        theta = student.ability()[0, 1]
        student.learn(_items(1, theta - 1.2, 5))
    novice_gain = novice.ability()[0, 1] - novice.prior[0, 1]
    expert_gain = expert.ability()[0, 1] - expert.prior[0, 1]
    assert expert_gain > 5 * novice_gain


def _learned_after(schedule: list[Items | None], exponent: float = 0.5) -> float:
    """Fraction of a first lesson on skill 0 retained after ``schedule`` (None = practise skill 1)."""
    student = _student(forgetting_exponent=exponent)
    student.learn(_items(0, student.ability()[0, 0] - student.params.zpd_centre, 40))
    learned = student.ability()[0, 0] - student.prior[0, 0]
    for items in schedule:
        student.learn(items if items is not None else _items(1, 0.0, 1))
    return float((student.ability()[0, 0] - student.prior[0, 0]) / learned)


def test_forgetting_follows_a_power_law_of_time() -> None:
    for steps in (1, 5, 30):
        assert _learned_after([None] * steps) == pytest.approx((1 + steps) ** -0.5, rel=1e-9)


def test_practice_that_teaches_nothing_does_not_stop_forgetting() -> None:
    useless = _items(0, -40.0, 1)  # far too easy: outside the ZPD, teaches (almost) nothing
    unpractised = _learned_after([None] * 30)
    assert _learned_after([useless] * 30) == pytest.approx(unpractised, abs=1e-6)
    assert _learned_after([useless, None] * 15) == pytest.approx(unpractised, abs=1e-6)


def test_ability_never_exceeds_the_ceiling_or_drops_with_practice() -> None:
    student = _student(initial_ability_mean=2.5, initial_ability_sd=1.0, ceiling=3.0)
    assert np.all(student.prior <= 3.0)
    before = student.ability().copy()
    student.learn(_items(0, before[0, 0] - 1.7, 40))
    assert student.ability()[0, 0] >= before[0, 0] - 1e-12
    assert np.all(student.ability() <= 3.0 + 1e-12)


def test_zpd_centre_is_where_observed_success_is_85_percent() -> None:
    p = _student().params
    success = p.guess + (1 - p.guess - p.slip) / (1 + np.exp(-p.discrimination * p.zpd_centre))
    assert success == pytest.approx(0.85)


@pytest.mark.parametrize(
    "params",
    [
        {"discrimination": 100.0},
        {"initial_ability_sd": 50.0},
        {"initial_ability_mean": -30.0},
        {"zpd_width": 1e-300},
        {"zpd_target_success": 0.1},  # below the guess rate: never observed
        {"slip": 0.85},
    ],
)
def test_extreme_parameters_are_refused_with_the_expected_range(params: dict) -> None:
    with pytest.raises(ConfigError, match=rf"{next(iter(params))}=.*; expected"):
        SimulatedStudentParams(**params)


def test_parameters_at_their_bounds_stay_finite() -> None:
    bounds = {"discrimination": 10.0, "initial_ability_mean": -10.0, "initial_ability_sd": 5.0,
              "zpd_width": 0.05, "prerequisite_threshold": 20.0}  # fmt: skip
    skills = LatentDomain().skills
    student = SimulatedStudent(skills, 2, SimulatedStudentParams(**bounds))
    student.reset(np.random.SeedSequence(1))
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        for _ in range(5):
            student.learn(_items(7, 0.0, 10, members=2))
    assert np.all(np.isfinite(student.ability()))


def test_reset_with_the_same_seed_object_gives_the_same_students() -> None:
    student = _student()
    seed = np.random.SeedSequence(3)
    student.reset(seed)
    first = student.ability().copy()
    student.reset(seed)
    np.testing.assert_array_equal(student.ability(), first)


def test_responses_follow_the_irt_curve() -> None:
    student = _student()
    theta = student.ability()[0, 0]
    p = student.params
    for offset in (-2.0, 0.0, 2.0):
        items = Items(
            skill=np.zeros(20_000, np.int64),
            level=np.zeros(20_000, np.int64),
            answer=np.ones(20_000, np.int64),
            difficulty=np.full(20_000, theta + offset),
        )
        rate = student.attempt(items).mean()
        expected = p.guess + (1 - p.guess - p.slip) / (1 + np.exp(p.discrimination * offset))
        assert abs(rate - expected) < 0.015


def test_population_members_learn_independently() -> None:
    domain = LatentDomain()
    population = SimulatedStudent(domain.skills, 3)
    population.reset(np.random.SeedSequence(4))
    before = population.ability().copy()
    batch = _items(2, -2.0, 10, members=3)
    batch = Items(batch.skill, batch.level, batch.answer, difficulty=batch.difficulty)
    batch.skill[1] = 5  # member 1 practises another skill
    population.learn(batch)
    change = population.ability() - before
    assert change[0, 2] > 0 and change[2, 2] > 0 and change[1, 2] <= 0
    assert change[1, 5] > 0 and change[0, 5] <= 0


def test_learner_traits_vary_per_member_when_asked() -> None:
    skills = LatentDomain().skills
    params = SimulatedStudentParams(forgetting_sd=0.5, guess_sd=0.5, slip_sd=0.5)
    population = SimulatedStudent(skills, 50, params)
    population.reset(np.random.SeedSequence(2))
    for trait in (population.member_forgetting, population.member_guess, population.member_slip):
        assert trait.shape == (50, 1) and trait.std() > 0.01
    assert np.all(population.member_guess + population.member_slip < 1)
    # A member's floor of success on impossible items is its own guess rate.
    floor = population.expected_accuracy(np.full((8, 3), 50.0))
    np.testing.assert_allclose(floor[:, 0, 0], population.member_guess[:, 0], atol=1e-9)
    # Without spreads every member has the population's values, and the draws of the prior match.
    plain = SimulatedStudent(skills, 50)
    plain.reset(np.random.SeedSequence(2))
    assert np.all(plain.member_guess == plain.params.guess)
    np.testing.assert_array_equal(plain.prior, population.prior)
