"""Test settings: offline hub, deterministic torch, and small helpers shared by the tests."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # an accidental hub call fails fast

import gymnasium as gym
import numpy as np
import pytest
import torch

import teachgym

torch.use_deterministic_algorithms(True)
# One thread: the students are small, and two threads on a loaded 2-core machine slow torch many-fold.
torch.set_num_threads(1)

ENV_IDS = teachgym.envs.ids()
#: ``a`` with ``"What is a + (a + 11)?"`` in the training split of the arithmetic-text domain (seed 0):
#: an env drops teacher-written copies of held-out problems, so valid actions avoid them.
TRAIN_SPLIT_ADDENDS = (10, 11, 12, 14, 15, 17, 20, 21)


def valid_action(
    space: gym.Space, step: int, rng: np.random.Generator | None = None, mask: np.ndarray | None = None
):
    """A valid action for any teachgym action space: fixed (``rng`` None) or random.

    Box allocations get equal weights (or Dirichlet weights); Discrete choices cycle (or are drawn)
    among those the observation's ``action_mask`` allows, if it has one.
    """
    if isinstance(space, gym.spaces.Discrete):
        allowed = np.flatnonzero(mask) if mask is not None else np.arange(space.n)
        offset = allowed[step % len(allowed)] if rng is None else allowed[rng.integers(len(allowed))]
        return np.int64(space.start + offset)
    if isinstance(space, gym.spaces.Box):
        if rng is None:
            return np.ones(space.shape, np.float32)
        weights = rng.dirichlet(np.ones(int(np.prod(space.shape))))
        return (weights / weights.max()).reshape(space.shape).astype(np.float32)
    if isinstance(space, gym.spaces.Sequence):  # text pairs: 8 correct training-split problems
        return tuple((f"What is {a} + {a + 11}?", str(2 * a + 11)) for a in TRAIN_SPLIT_ADDENDS)
    raise NotImplementedError(f"no valid-action rule for {space}; add one here")


def make_env(env_id: str, **kwargs: object) -> gym.Env:
    """``gym.make(env_id, ...)`` with the id's quick settings (``teachgym.envs.quick_settings``: short
    budgets for the slow language-model variants) under ``kwargs``."""
    return gym.make(env_id, **{**teachgym.envs.quick_settings(env_id), **kwargs})


def rollout(env_id: str, seed: int, policy: str = "uniform", **kwargs: object) -> list:
    """Every (obs, reward, terminated, truncated, info) of one episode under a fixed policy, with the
    id's quick settings."""
    env = make_env(env_id, **kwargs)
    obs, info = env.reset(seed=seed)
    trace = [(obs, 0.0, False, False, info)]
    rng = np.random.default_rng(seed)
    done = False
    while not done:
        step = len(trace) - 1
        action = valid_action(
            env.action_space, step, None if policy == "uniform" else rng, obs.get("action_mask")
        )
        obs, reward, terminated, truncated, info = env.step(action)
        trace.append((obs, reward, terminated, truncated, info))
        done = terminated or truncated
    env.close()
    return trace


@pytest.fixture(params=ENV_IDS, ids=ENV_IDS)
def env_id(request: pytest.FixtureRequest) -> str:
    return request.param
