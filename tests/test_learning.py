"""Students learn: under the uniform teacher, mean test accuracy rises clearly on every id."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from teachgym import agents
from teachgym.rollout import run_episode

#: Smallest rise in mean test accuracy (absolute) over one episode under `uniform`, averaged over
#: three seeds. Measured rises are far larger (see the closing notes of issues 2-4).
MIN_RISE = 0.15

#: Families where `uniform` does not apply, with the teacher and the rise to check instead. In the
#: Intervention family the student learns only from the items the budget (40%) lets the teacher
#: explain, so the rise is smaller by design (issue 4's note: about +0.06 under always-explain).
LEARNING_CHECK = {"Intervention": ("always-explain", 0.03)}
#: The language-model students: (teacher, rise, seeds); an episode takes ~40 s on one core. Spread
#: evenly over seven skills, one episode teaches the tiny pre-trained LM the comparisons and first
#: two-digit problems: mean test exact-match 0.000 -> 0.061 over seeds 0-1 (issue 5's note).
TEXT_CHECK = {
    "teachgym/SkillList-ArithmeticText-v0": ("uniform", 0.02, 2),
    "teachgym/OpenEnded-ArithmeticText-v0": ("uniform", 0.02, 1),
}


def test_students_learn_under_a_plain_teacher(env_id: str) -> None:
    env = gym.make(env_id)
    name, min_rise = LEARNING_CHECK.get(env.unwrapped.family, ("uniform", MIN_RISE))
    name, min_rise, num_seeds = TEXT_CHECK.get(env_id, (name, min_rise, 3))
    teacher = agents.make(name, env)
    results = [run_episode(env, teacher, seed) for seed in range(num_seeds)]
    rise = np.mean([r.test_accuracy - r.initial_test_accuracy for r in results])
    assert rise > min_rise, f"{env_id}: test accuracy rose only {rise:.3f} under {name}"
