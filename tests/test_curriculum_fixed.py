"""The Curriculum teachers that follow an order of the sub-tasks: the fixed curricula (easy-to-hard,
hard-to-easy, cyclical), PUDF (the Rasch fit and irt-ability) and Curriculum Designer (the class order
from training-pool similarity), each on the scripted env or hand-made profiles of
tests/test_curriculum_teachers.py."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from teachgym import agents
from teachgym.agents.curriculum_designer import designer_order
from teachgym.agents.fixed_curricula import cyclical_shares
from teachgym.agents.pudf import fit_rasch
from teachgym.errors import UnsupportedError
from tests.test_curriculum_teachers import ScriptedCurriculumEnv, obs_of, started

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


def test_irt_ability_refuses_sub_tasks_without_a_difficulty_order() -> None:
    env = gym.make("teachgym/Curriculum-ClassIncremental-Digits-v0")
    with pytest.raises(UnsupportedError, match="ordered by difficulty"):
        agents.make("irt-ability", env)
    agents.make("irt-ability", gym.make("teachgym/Curriculum-Addition-v0"))


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
