"""Common random numbers (BENCHMARK.md): the seed alone fixes the student and every draw that does not
depend on the teacher's choices, so two teachers on seed ``s`` face the same student.

Checked for every registered id: after any other episode has run on the same env object, under
any teacher, ``reset(seed=s)`` gives the same observation, the same held-out profiles and the same
student; and in the intervention family the stream of items is the same whatever the teacher does.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import teachgym  # noqa: F401  (registers the ids)
from teachgym.envs import ids, quick_settings

#: A few steps are enough for a teacher's choices to have moved every generator they can move.
NUM_STEPS = 3


def _make(env_id: str) -> gym.Env[Any, Any]:
    return gym.make(env_id, **quick_settings(env_id))


def _student_answers(env: gym.Env[Any, Any], seed: int) -> Any:
    """The fresh student's answers to the test items right after ``reset(seed=seed)``: the student
    (weights, traits, prior knowledge) as the benchmark sees it."""
    env.reset(seed=seed)
    unwrapped = env.unwrapped
    return unwrapped.student.attempt(unwrapped.domain.heldout("test"))  # type: ignore[attr-defined]


def _sample(env: gym.Env[Any, Any], obs: dict[str, Any]) -> Any:
    """A random action the env takes (masked moves excluded where the observation has a mask)."""
    if "action_mask" in obs:
        return env.action_space.sample(mask=np.asarray(obs["action_mask"], np.int8))
    return env.action_space.sample()


def _steps(env: gym.Env[Any, Any], seed: int, policy_seed: int) -> list[dict[str, Any]]:
    """Reset with ``seed``, then take ``NUM_STEPS`` random actions of a policy seeded ``policy_seed``;
    return the reset's observation and the observations of the steps."""
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(policy_seed)
    seen = [obs]
    for _ in range(NUM_STEPS):
        obs, _, terminated, truncated, _ = env.step(_sample(env, obs))
        seen.append(obs)
        if terminated or truncated:
            break
    return seen


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(np.array_equal(np.asarray(a), np.asarray(b)))


@pytest.mark.parametrize("env_id", ids())
def test_the_seed_alone_fixes_the_student(env_id: str) -> None:
    fresh = _make(env_id)
    first = _steps(fresh, seed=7, policy_seed=1)
    answers = _student_answers(fresh, 7)

    # Another teacher's episode on another seed, then the same seed again: the same student.
    used = _make(env_id)
    _steps(used, seed=123, policy_seed=2)
    again = _steps(used, seed=7, policy_seed=3)
    assert _equal(first[0], again[0]), "the reset observation depends on what ran before"
    assert _equal(answers, _student_answers(used, 7)), "the fresh student depends on what ran before"

    if env_id.startswith("teachgym/Intervention-"):
        # The item stream is drawn from its own generator: the same items whatever the teacher did.
        for key in ("skill", "level"):
            assert all(np.array_equal(a[key], b[key]) for a, b in zip(first, again, strict=True)), key
    fresh.close()
    used.close()


@pytest.mark.parametrize("env_id", [i for i in ids() if "-Sim" in i])
def test_held_out_profiles_do_not_depend_on_the_teacher(env_id: str) -> None:
    """The initial test accuracy (held-out items and the fresh student) is the same under two
    teachers' episodes on one seed."""
    results = []
    for policy_seed in (1, 2):
        env = _make(env_id)
        obs, info = env.reset(seed=11)
        env.action_space.seed(policy_seed)
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(_sample(env, obs))
            done = terminated or truncated
        results.append(info["initial_test_accuracy"])
        env.close()
    assert results[0] == results[1]
