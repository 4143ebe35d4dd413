"""A new family written against the loop's protocol, as a researcher would add one: a spec with its
spaces and array functions, no override of any loop phase, and the single and vector envs for free."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from teachgym.actions import as_discrete, each
from teachgym.engines import Plan
from teachgym.env import TeachingEnv
from teachgym.errors import InvalidActionError
from teachgym.family import Family, Lesson
from teachgym.vector import TeachingVectorEnv


# ----------------------------------------------------------------------------- the whole family
@dataclass(frozen=True)
class SpotlightState:
    times_taught: np.ndarray  # int64 (n, K): steps spent on each skill


class Spotlight(Family):
    """Each step, all of the step's examples go to one skill, at every level alike."""

    name = "Spotlight"
    action_kind = "choice"
    extra_observation_keys = ("times_taught",)
    extra_info_keys = ("taught",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.action_space = gym.spaces.Discrete(self.skills.num_skills)

    def observation_spaces(self) -> dict[str, gym.Space[Any]]:
        return {"times_taught": gym.spaces.Box(0.0, 1.0, (self.skills.num_skills,), np.float32)}

    def reset(self, state: Any, student: Any) -> tuple[SpotlightState, bool]:
        return SpotlightState(np.zeros((state.size, self.skills.num_skills), np.int64)), False

    def plan(self, state: Any, actions: Any) -> Lesson:
        skill = np.array(each(actions, lambda a: as_discrete(a, self.action_space)))
        counts = np.zeros((len(skill), self.skills.num_skills, self.skills.num_levels), np.int64)
        counts[np.arange(len(skill)), skill] = self.examples_per_step // self.skills.num_levels
        counts[np.arange(len(skill)), skill, 0] += self.examples_per_step % self.skills.num_levels
        return Lesson(Plan(counts))

    def update(self, state: Any, lesson: Lesson, answers: Any, student: Any) -> SpotlightState:
        return SpotlightState(state.family.times_taught + (lesson.plan.counts.sum(axis=-1) > 0))

    def observe(self, state: Any) -> dict[str, np.ndarray]:
        return {"times_taught": (state.family.times_taught / self.num_steps).astype(np.float32)}

    def info(self, state: Any) -> dict[str, Any]:
        return {"taught": state.family.times_taught.sum(axis=-1)}


class SpotlightEnv(TeachingEnv):
    FAMILY = Spotlight


# ----------------------------------------------------------------------------- what it gets for free
SETTINGS = {"num_steps": 6, "examples_per_step": 30}


def test_a_new_family_passes_gymnasiums_checker_and_teaches() -> None:
    env = SpotlightEnv(**SETTINGS)
    check_env(env, skip_render_check=True)
    _, info = env.reset(seed=0)
    start = info["mean_accuracy"]
    for _ in range(SETTINGS["num_steps"]):
        _, _, terminated, truncated, info = env.step(1)
    assert truncated and not terminated and info["taught"] == SETTINGS["num_steps"]
    assert info["profile"]["addition"] > start  # the skill in the spotlight was learned
    assert set(info) >= {"test_profile", "test_accuracy"}
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match="out of range"):
        env.step(99)


def test_a_new_familys_vector_env_equals_its_single_envs() -> None:
    vector = TeachingVectorEnv(SpotlightEnv, 3, **SETTINGS)
    singles = [SpotlightEnv(**SETTINGS) for _ in range(3)]
    observations, _ = vector.reset(seed=7)
    for i, env in enumerate(singles):
        observation, _ = env.reset(seed=7 + i)
        np.testing.assert_array_equal(observations["profile"][i], observation["profile"])
    for step in range(SETTINGS["num_steps"]):
        actions = np.array([step % 3, 4, (step * 5) % 8])
        observations, rewards, _, truncated, infos = vector.step(actions)
        for i, env in enumerate(singles):
            observation, reward, _, done, info = env.step(int(actions[i]))
            assert rewards[i] == reward and truncated[i] == done
            np.testing.assert_array_equal(observations["times_taught"][i], observation["times_taught"])
            assert infos["taught"][i] == info["taught"]
            if done:
                assert infos["test_accuracy"][i] == info["test_accuracy"]
    assert truncated.all()
