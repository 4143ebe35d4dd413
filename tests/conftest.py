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

ENV_IDS = teachgym.envs.ids()


def rollout(env_id: str, seed: int, policy: str = "uniform", **kwargs: object) -> list:
    """Every (obs, reward, terminated, truncated, info) of one episode under a fixed policy."""
    env = gym.make(env_id, **kwargs)
    obs, info = env.reset(seed=seed)
    trace = [(obs, 0.0, False, False, info)]
    rng = np.random.default_rng(seed)
    done = False
    while not done:
        if policy == "uniform":
            action = np.ones(env.action_space.shape, np.float32)
        else:
            action = rng.dirichlet(np.ones(np.prod(env.action_space.shape))).reshape(env.action_space.shape)
        obs, reward, terminated, truncated, info = env.step(action)
        trace.append((obs, reward, terminated, truncated, info))
        done = terminated or truncated
    env.close()
    return trace


@pytest.fixture(params=ENV_IDS, ids=ENV_IDS)
def env_id(request: pytest.FixtureRequest) -> str:
    return request.param
