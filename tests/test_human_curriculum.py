"""The human curriculum (Lee, Cho & Yoo 2024): levels in order, skills of a level interleaved."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from teachgym import agents
from teachgym.errors import ConfigError
from teachgym.rollout import run_episode
from teachgym.task import TaskDescription


def _task(
    num_skills: int = 3, num_levels: int = 3, num_steps: int = 9, **prerequisites: tuple
) -> TaskDescription:
    names = tuple(f"s{k}" for k in range(num_skills))
    observation = spaces.Dict({"level_profile": spaces.Box(0, 1, (num_skills, num_levels), np.float32)})
    return TaskDescription(
        family="SkillList",
        observation_space=observation,
        action_space=spaces.Box(0, 1, (num_skills, num_levels), np.float32),
        skill_names=names,
        num_levels=num_levels,
        num_steps=num_steps,
        examples_per_step=10,
        action_kind="allocation",
        prerequisites=prerequisites,
    )


def _teacher(task: TaskDescription, **knobs: object) -> agents.Teacher:
    teacher = agents.make("human-curriculum", task, **knobs)
    teacher.reset(task.observation_space, task.action_space, seed=0)
    return teacher


def _act(teacher: agents.Teacher, accuracy: list[list[float]]) -> np.ndarray:
    return np.asarray(teacher.act({"level_profile": np.array(accuracy, np.float32)}, {}))


def test_a_level_teaches_its_unmastered_skills_together_then_the_next() -> None:
    teacher = _teacher(_task())
    weights = _act(teacher, [[0.2, 0.1, 0.0]] * 3)
    assert (weights[:, 0] > 0).all() and not weights[:, 1:].any()  # level 0, all skills interleaved
    weights = _act(teacher, [[0.95, 0.1, 0.0], [0.5, 0.1, 0.0], [0.3, 0.1, 0.0]])
    assert weights[0, 0] == 0 and (weights[1:, 0] > 0).all()  # a mastered skill drops out
    weights = _act(teacher, [[0.95, 0.1, 0.0]] * 3)
    assert (weights[:, 1] > 0).all() and not weights[:, [0, 2]].any()  # all mastered: next level


def test_a_level_ends_after_its_share_of_the_budget() -> None:
    teacher = _teacher(_task(num_steps=6))  # 3 levels: 2 steps each
    low = [[0.1, 0.1, 0.1]] * 3
    levels = [int(np.flatnonzero(_act(teacher, low).any(axis=0))[0]) for _ in range(6)]
    assert levels == [0, 0, 1, 1, 2, 2]
    assert _act(teacher, low).all()  # after the last level: review every unmastered cell


def test_a_skill_waits_for_its_prerequisites_at_the_level() -> None:
    teacher = _teacher(_task(s2=("s0",)))
    weights = _act(teacher, [[0.2, 0.0, 0.0]] * 3)
    assert weights[0, 0] > 0 and weights[1, 0] > 0 and weights[2, 0] == 0
    weights = _act(teacher, [[0.95, 0.0, 0.0], [0.2, 0.0, 0.0], [0.2, 0.0, 0.0]])
    assert weights[2, 0] > 0


def test_bad_knobs_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"threshold=1\.5"):
        agents.make("human-curriculum", _task(), threshold=1.5)


def test_it_acts_on_allocation_families_and_text_through_the_writer() -> None:
    assert {"SkillList", "SkillTree", "OpenEnded"} <= set(agents.spec("human-curriculum").families)
    env = gym.make("teachgym/SkillList-Sim-v1")
    ours = run_episode(env, agents.make("human-curriculum", env), seed=0)
    uniform = run_episode(env, agents.make("uniform", env), seed=0)
    assert ours.test_accuracy != uniform.test_accuracy and ours.test_accuracy > ours.initial_test_accuracy
