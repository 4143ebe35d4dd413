"""SkillTree: the family's observation and explore share, the tree domains, and its teachers."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from teachgym import agents
from teachgym.agents.skill_tree import focus, topological_order
from teachgym.domains.synthetic import SyntheticDomain
from teachgym.rollout import run_episode

#: A chain 0 -> 1 -> 2 plus 3 needing 0: entry [k, j] = 1 if j is a prerequisite of k.
PREREQUISITES = np.array([[0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [1, 0, 0, 0]], np.float32)


def _obs(profile, explored=(0, 0, 0, 0), levels: int = 2) -> dict[str, np.ndarray]:
    profile = np.asarray(profile, np.float32)
    return {
        "profile": profile,
        "level_profile": np.repeat(profile[:, None], levels, axis=1),
        "prerequisites": PREREQUISITES,
        "explored": np.asarray(explored, np.float32),
        "budget": np.ones(1, np.float32),
    }


def _teacher(name: str, **knobs):
    env = gym.make("teachgym/SkillTree-Sim-v0")
    teacher = agents.make(name, env, **knobs)
    teacher.reset(env.observation_space, gym.spaces.Box(0, 1, (4, 2), np.float32), seed=0)
    return teacher


def _skill(action: np.ndarray) -> list[int]:
    return np.flatnonzero(action.sum(axis=1) > 0).tolist()


def test_topological_order_and_focus() -> None:
    order = topological_order(PREREQUISITES)
    assert order.index(0) < order.index(1) < order.index(2) and order.index(0) < order.index(3)
    level_profile = np.array([[0.9, 0.4, 0.1]] * 4)
    assert np.argwhere(focus((4, 3), 2, level_profile, 0.7)).tolist() == [[2, 1]]
    assert np.argwhere(focus((4, 3), 2, np.ones((4, 3)), 0.7)).tolist() == [[2, 2]]


def test_prerequisites_first_advances_on_mastery_or_patience() -> None:
    teacher = _teacher("prerequisites-first", threshold=0.7, patience=3)
    assert _skill(teacher.act(_obs([0.2, 0.2, 0.2, 0.2]), {})) == [0]
    assert _skill(teacher.act(_obs([0.8, 0.2, 0.2, 0.2]), {})) == [1]  # 0 mastered: next in order
    stuck = [_skill(teacher.act(_obs([0.8, 0.3, 0.2, 0.2]), {})) for _ in range(3)]
    assert stuck == [[1], [1], [2]]  # patience 3: after three steps on skill 1 it moves on


def test_frontier_teaches_the_weakest_skill_whose_prerequisites_are_mastered() -> None:
    teacher = _teacher("frontier", threshold=0.7)
    assert _skill(teacher.act(_obs([0.3, 0.1, 0.05, 0.2]), {})) == [0]  # only the root is ready
    assert _skill(teacher.act(_obs([0.9, 0.4, 0.05, 0.2]), {})) == [3]  # 1 and 3 ready; 3 is weaker
    assert _skill(teacher.act(_obs([0.9, 0.8, 0.3, 0.9]), {})) == [2]


def test_explore_exploit_alternates_growing_and_rebalancing() -> None:
    teacher = _teacher("explore-exploit", num_new_skills=2, period=2)
    first = teacher.act(_obs([0.3] * 4), {})
    assert _skill(first) == [0]  # only the root has its prerequisites explored
    exploit = teacher.act(_obs([0.5, 0.3, 0.3, 0.3], explored=(1, 0, 0, 0)), {})
    assert _skill(exploit) == [0]
    explore = teacher.act(_obs([0.5, 0.3, 0.3, 0.3], explored=(1, 0, 0, 0)), {})
    assert _skill(explore) == [1, 3]
    exploit = teacher.act(_obs([0.9, 0.3, 0.3, 0.6], explored=(1, 1, 0, 1)), {})
    per_node = exploit.sum(axis=1)
    assert per_node[2] == 0 and per_node[1] > per_node[3] > per_node[0] > 0  # in proportion to 1 - acc


def test_env_reports_the_tree_and_the_explore_share() -> None:
    env = gym.make("teachgym/SkillTree-Sim-v0")
    obs, info = env.reset(seed=0)
    skills = env.unwrapped.skills
    np.testing.assert_array_equal(obs["prerequisites"], skills.prerequisite_matrix())
    assert info["num_explored"] == 0 and not obs["explored"].any()
    action = np.zeros(env.action_space.shape, np.float32)
    action[0, 0] = action[1, 0] = 1.0
    obs, _, _, _, info = env.step(action)
    assert info["explore_share"] == 1.0 and info["num_explored"] == 2
    action[2, 0] = 2.0 / 4.0  # half as much on a new node as on each of the two old ones
    obs, _, _, _, info = env.step(action)
    assert info["explore_share"] == pytest.approx(0.2) and obs["explored"].tolist()[:3] == [1, 1, 1]


def test_synthetic_tree_labels_depend_on_the_prerequisite() -> None:
    domain = SyntheticDomain(num_skills=3, structure="tree", num_conflicting=0, difficulty=[0.0] * 3)
    assert domain.parent.tolist() == [-1, 0, 0]
    f = np.random.default_rng(0).standard_normal((4000, domain.num_latent_features))
    child, parent = domain.rule(np.full(4000, 1), f), domain.rule(np.full(4000, 0), f)
    own = domain.score(np.full(4000, 1), f) > 0
    # Where the child's own score is ambiguous, its label follows the parent's.
    ambiguous = np.abs(domain.score(np.full(4000, 1), f)) < 0.7
    assert (child[ambiguous] == parent[ambiguous]).all()
    assert (child[~ambiguous] == own[~ambiguous]).all()


def test_prerequisite_teachers_beat_random_on_the_sim_tree() -> None:
    """The family's documented effect: paired over the same 20 students, prerequisites-first and
    frontier end with higher test accuracy than random (95% interval above zero)."""
    env = gym.make("teachgym/SkillTree-Sim-v0")

    def final(name: str) -> np.ndarray:
        teacher = agents.make(name, env)
        return np.array([run_episode(env, teacher, seed).test_accuracy for seed in range(20)])

    random = final("random")
    for name in ("prerequisites-first", "frontier"):
        diff = final(name) - random
        assert diff.mean() - 1.96 * diff.std(ddof=1) / np.sqrt(len(diff)) > 0, name
