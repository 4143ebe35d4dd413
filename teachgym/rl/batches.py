"""Batched observations of vector envs (a dict of arrays or one array, one row per sub-env): copies
and row merges shared by :mod:`teachgym.rl.vec_env` and :mod:`teachgym.rl.adapters`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs

__all__ = ["copy_obs", "merge_rows", "obs_row"]


def copy_obs(obs: Any) -> VecEnvObs:
    """A copy of the batch (a vectorizer with ``copy=False`` overwrites its buffer on the next reset)."""
    if isinstance(obs, dict):
        return {key: np.array(value, copy=True) for key, value in obs.items()}
    return np.array(obs, copy=True)


def obs_row(obs: VecEnvObs, i: int) -> Any:
    """A copy of sub-env ``i``'s observation in the batch."""
    if isinstance(obs, dict):
        return {key: value[i].copy() for key, value in obs.items()}
    assert isinstance(obs, np.ndarray)
    return obs[i].copy()


def merge_rows(obs: VecEnvObs, new: VecEnvObs, mask: np.ndarray) -> VecEnvObs:
    """``obs`` with the rows where ``mask`` is true taken from ``new`` (in place)."""
    if isinstance(obs, dict):
        assert isinstance(new, dict)
        for key, value in obs.items():
            value[mask] = new[key][mask]
        return obs
    assert isinstance(obs, np.ndarray) and isinstance(new, np.ndarray)
    obs[mask] = new[mask]
    return obs
