"""Students learn for real, with the mechanisms their docstrings claim."""

from __future__ import annotations

import itertools

import numpy as np

from teachgym.domains.base import Items
from teachgym.domains.latent import LatentDomain
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
        student.learn(_items(0, before - 1.2, 20))  # always pitched in the ZPD
        gains.append(student.ability()[0, 0] - before)
    assert student.ability()[0, 0] > start + 1.0
    assert all(later < earlier for earlier, later in itertools.pairwise(gains))


def test_items_far_too_hard_or_easy_teach_little() -> None:
    gains = {}
    for name, offset in {"zpd": -1.2, "too hard": 4.0, "too easy": -6.0}.items():
        student = _student(forgetting_exponent=0.0)
        theta = student.ability()[0, 0]
        student.learn(_items(0, theta + offset, 20))
        gains[name] = student.ability()[0, 0] - theta
    assert gains["zpd"] > 5 * gains["too hard"]
    assert gains["zpd"] > 5 * gains["too easy"]


def test_prerequisites_gate_learning() -> None:
    novice, expert = _student(forgetting_exponent=0.0), _student(forgetting_exponent=0.0)
    novice.strength[0, 0] = novice.prior[0, 0] = -3.5  # the prerequisite is far from mastered
    expert.strength[0, 0] = expert.prior[0, 0] = 2.5  # the prerequisite is mastered
    for student in (novice, expert):
        theta = student.ability()[0, 1]
        student.learn(_items(1, theta - 1.2, 5))
    novice_gain = novice.ability()[0, 1] - novice.prior[0, 1]
    expert_gain = expert.ability()[0, 1] - expert.prior[0, 1]
    assert expert_gain > 5 * novice_gain


def test_forgetting_follows_a_power_law_of_time() -> None:
    student = _student(forgetting_exponent=0.5)
    student.learn(_items(0, student.ability()[0, 0] - 1.2, 40))
    learned = student.ability()[0, 0] - student.prior[0, 0]
    retained = []
    for _ in range(30):
        student.learn(_items(1, 0.0, 1))  # time passes; skill 0 is not practised
        retained.append((student.ability()[0, 0] - student.prior[0, 0]) / learned)
    t = np.arange(1, 31)
    np.testing.assert_allclose(retained, (1 + t) ** -0.5, rtol=1e-9)


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
