"""Policy adapters: a teaching env in the spaces an SB3 policy acts in, and the policy's actions back.

:class:`PolicyAdapter` maps a teaching env's spaces to spaces an SB3 policy acts in, and the policy's
actions back; :func:`policy_env` applies it to a single env (:class:`PolicyEnv`) or a vector env
(:class:`PolicyVectorEnv`, which :class:`~teachgym.rl.vec_env.SB3VecEnv` hands to SB3), and
:class:`~teachgym.rl.policy_teacher.PolicyTeacher` to a trained model acting as a teacher:

* **Observations.** A ``Dict`` stays a ``Dict`` (for ``MultiInputPolicy``); its ``Box``, ``Discrete``,
  ``MultiDiscrete`` and ``MultiBinary`` entries are kept as they are (every teachgym family's are,
  2-D ``Box`` entries and the ``MultiBinary`` action mask included); a nested ``Dict``/``Tuple`` entry
  is flattened to a float ``Box``; anything else (text, sequences) is refused.
* **Allocation actions** (``Box(0, 1, (K, L))``: SkillList, SkillTree, Rehearsal): the policy acts in
  ``Box(-1, 1, (K*L,), float32)``; action ``a`` (clipped to [-1, 1], NaN read as 0) becomes the weights
  ``exp(3 a)`` reshaped to ``(K, L)`` and divided by their largest entry (so they lie in
  ``[exp(-6), 1]``, inside the env's ``Box(0, 1)``; the env uses only their shares, which the division
  does not change). Never all zero; the shares range from near one-hot (one cell at +1, the others at -1:
  the cell gets ``e**6`` times each other's share) to uniform (all equal).
* **Discrete actions** (Curriculum, Intervention, Tutor) stay ``Discrete``. Where the observation has an
  ``action_mask`` (Intervention: moves still affordable), the policy does not read it as a mask, so a
  masked-out (or out-of-range) action is mapped deterministically to the first allowed one: 0 (``none``)
  in Intervention, which is always allowed. Training therefore never crashes on a spent intervention
  budget; the policy simply learns that such moves do nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import VectorEnv, VectorWrapper
from gymnasium.vector.utils import batch_space, iterate

from teachgym.errors import ConfigError, UnsupportedError
from teachgym.rl.batches import copy_obs, merge_rows

__all__ = [
    "ALLOCATION_SCALE",
    "MASK_KEY",
    "PolicyAdapter",
    "PolicyEnv",
    "PolicyVectorEnv",
    "policy_env",
]

#: The allocation action's temperature: weights ``exp(ALLOCATION_SCALE * a)`` for ``a`` in [-1, 1], so the
#: largest share is at most ``exp(2 * ALLOCATION_SCALE)`` (about 403) times the smallest.
ALLOCATION_SCALE = 3.0
#: Observation entries an SB3 policy takes as they are (``MultiInputPolicy`` flattens each one itself).
_KEPT_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)
#: The observation key of a family's action mask (1 for every allowed Discrete action).
MASK_KEY = "action_mask"


class PolicyAdapter:
    """The spaces an SB3 policy acts in for a teaching env, and the maps between the two (module docs).

    :param observation_space: the env's (single) observation space.
    :param action_space: the env's (single) action space.
    :param name: what to call the env in error messages (e.g. its id).
    :raises UnsupportedError: a space with no SB3 counterpart here (text actions or observations,
        sequences, a ``Box`` action that is not an allocation ``Box(0, 1)``), naming it.

    Attributes:
        observation_space, action_space: the policy's spaces.
        env_observation_space, env_action_space: the env's spaces.
        kind: ``"allocation"`` or ``"discrete"``.
        mask_key: the observation key of the action mask, or None.
    """

    def __init__(
        self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, name: str = "the env"
    ):
        self.env_observation_space = observation_space
        self.env_action_space = action_space
        self.name = name
        self._flattened: dict[str, gym.Space[Any]] = {}  # observation key ("" = all of it) -> env space
        self.action_space: spaces.Box | spaces.Discrete
        if isinstance(action_space, spaces.Discrete):
            self.kind = "discrete"
            self.action_space = action_space
        elif _is_allocation(action_space):
            self.kind = "allocation"
            self._allocation_shape: tuple[int, ...] = tuple(action_space.shape)  # type: ignore[arg-type]
            size = math.prod(self._allocation_shape)
            self.action_space = spaces.Box(-1.0, 1.0, (size,), np.float32)
        else:
            raise UnsupportedError(
                f"an SB3 teacher acts on allocation Box(0, 1, shape) or Discrete action spaces; {name}'s "
                f"action space is {action_space}"
                + (" (text actions: no SB3 policy writes them)" if _has_text(action_space) else "")
            )
        self.observation_space = self._policy_observation_space(observation_space)
        self.mask_key = _mask_key(observation_space, action_space)

    @property
    def policy_name(self) -> str:
        """SB3's policy for the observation space: ``"MultiInputPolicy"`` (a Dict) or ``"MlpPolicy"``."""
        return "MultiInputPolicy" if isinstance(self.observation_space, spaces.Dict) else "MlpPolicy"

    def describe(self) -> str:
        """One line on the mapping (stored in a trained teacher's metadata)."""
        if self.kind == "allocation":
            action = (
                f"allocation: policy action a in {self.action_space} -> weights exp({ALLOCATION_SCALE:g} a) "
                f"/ max, reshaped to {self._allocation_shape}"
            )
        else:
            action = f"discrete: {self.action_space} as it is"
            if self.mask_key is not None:
                action += f"; a masked-out action (obs[{self.mask_key!r}]) -> the first allowed one"
        flattened = f"; flattened observation entries {sorted(self._flattened)}" if self._flattened else ""
        return action + flattened

    # -- observations --------------------------------------------------------------------------

    def _policy_observation_space(self, space: gym.Space[Any]) -> gym.Space[Any]:
        if isinstance(space, spaces.Dict):
            kept: dict[str, gym.Space[Any]] = {}
            for key, sub in space.spaces.items():
                kept[key] = self._policy_entry(sub, key)
            return spaces.Dict(kept)
        return self._policy_entry(space, "")

    def _policy_entry(self, sub: gym.Space[Any], key: str) -> gym.Space[Any]:
        if isinstance(sub, _KEPT_SPACES):
            return sub
        if isinstance(sub, (spaces.Dict, spaces.Tuple)) and _all_leaves_kept(sub):
            self._flattened[key] = sub
            flat = spaces.flatten_space(sub)
            assert isinstance(flat, spaces.Box)  # a Dict/Tuple of Box/Discrete/Multi* flattens to a Box
            return spaces.Box(
                flat.low.astype(np.float32), flat.high.astype(np.float32), flat.shape, np.float32
            )
        where = f"observation entry {key!r}" if key else "observation space"
        raise UnsupportedError(
            f"an SB3 policy takes Box, Discrete, MultiDiscrete or MultiBinary observations (or Dicts and "
            f"Tuples of them); {self.name}'s {where} is {sub}"
        )

    def observation(self, obs: Any) -> Any:
        """The policy's observation for one env observation."""
        if not self._flattened:
            return obs
        if "" in self._flattened:
            return _flat(self._flattened[""], obs)
        return {
            key: _flat(self._flattened[key], value) if key in self._flattened else value
            for key, value in obs.items()
        }

    def observations(self, batch: Any, num_envs: int) -> Any:
        """The policy's observations for a batch of ``num_envs`` env observations."""
        if not self._flattened:
            return batch

        def flat_rows(space: gym.Space[Any], value: Any) -> np.ndarray:
            rows = iterate(batch_space(space, num_envs), value)
            return np.stack([_flat(space, row) for row in rows])

        if "" in self._flattened:
            return flat_rows(self._flattened[""], batch)
        return {
            key: flat_rows(self._flattened[key], value) if key in self._flattened else value
            for key, value in batch.items()
        }

    # -- actions -------------------------------------------------------------------------------

    def action(self, policy_action: Any, obs: Any = None) -> Any:
        """The env action for one policy action; ``obs`` (the env observation it answers) gives the
        action mask, where the family has one."""
        mask = None
        if self.mask_key is not None and obs is not None:
            mask = np.asarray(obs[self.mask_key])[None]
        if self.kind == "allocation":
            return self._allocations(np.asarray(policy_action).reshape(1, -1))[0]
        values = np.asarray(policy_action).reshape(-1)
        if values.size != 1:
            raise UnsupportedError(
                f"a policy action for {self.action_space} must be one integer, got {policy_action!r}"
            )
        return int(self._discrete(values, mask)[0])

    def actions(self, policy_actions: Any, obs: Any = None) -> np.ndarray:
        """The env actions for a batch of policy actions (one row per env); ``obs`` as in :meth:`action`."""
        batch = np.asarray(policy_actions)
        if self.kind == "allocation":
            return self._allocations(batch.reshape(batch.shape[0], -1))
        mask = None if self.mask_key is None or obs is None else np.asarray(obs[self.mask_key])
        return self._discrete(batch.reshape(-1), mask)

    def _allocations(self, rows: np.ndarray) -> np.ndarray:
        size = math.prod(self._allocation_shape)
        if rows.shape[1] != size:
            raise UnsupportedError(
                f"policy actions of shape {rows.shape[1:]} do not fit {self.action_space} ({self.name})"
            )
        # Out-of-range and NaN entries cannot come from SB3's predict (it clips), but must not reach the
        # env as an invalid action either: clip, and read NaN as the middle of the range.
        a = np.clip(np.nan_to_num(rows.astype(np.float64), nan=0.0), -1.0, 1.0)
        # exp(s a) / max exp(s a): the shares of exp(s a), all in [exp(-2 s), 1], never all zero.
        weights = np.exp(ALLOCATION_SCALE * (a - a.max(axis=1, keepdims=True)))
        return weights.reshape(len(rows), *self._allocation_shape).astype(np.float32)

    def _discrete(self, values: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        space = self.action_space
        assert isinstance(space, spaces.Discrete)
        start, n = int(space.start), int(space.n)
        if values.dtype.kind == "f":
            values = np.nan_to_num(values, nan=start - 1.0)  # NaN: invalid, mapped below
            values = np.rint(np.clip(values, start - 1, start + n))
        moves = values.astype(np.int64)
        valid = (moves >= start) & (moves < start + n)
        if mask is None:
            fallback = np.full(len(moves), start, dtype=np.int64)
        else:
            allowed = np.asarray(mask).reshape(len(moves), n) > 0
            valid &= allowed[np.arange(len(moves)), np.clip(moves - start, 0, n - 1)]
            # The first allowed action (argmax of the first True); the first action if none is allowed.
            fallback = start + np.argmax(allowed, axis=1).astype(np.int64)
        return np.where(valid, moves, fallback)


def _flat(space: gym.Space[Any], value: Any) -> np.ndarray:
    return np.asarray(spaces.flatten(space, value), dtype=np.float32)


def _is_allocation(space: gym.Space[Any]) -> bool:
    return (
        isinstance(space, spaces.Box)
        and len(space.shape) >= 1
        and bool(np.all(space.low == 0.0))
        and bool(np.all(space.high == 1.0))
    )


def _all_leaves_kept(space: gym.Space[Any]) -> bool:
    if isinstance(space, spaces.Dict):
        return all(_all_leaves_kept(sub) for sub in space.spaces.values())
    if isinstance(space, spaces.Tuple):
        return all(_all_leaves_kept(sub) for sub in space.spaces)
    return isinstance(space, _KEPT_SPACES)


def _has_text(space: gym.Space[Any]) -> bool:
    if isinstance(space, spaces.Text):
        return True
    children: Sequence[gym.Space[Any]] = ()
    if isinstance(space, spaces.Dict):
        children = list(space.spaces.values())
    elif isinstance(space, spaces.Tuple):
        children = list(space.spaces)
    elif isinstance(space, spaces.Sequence):
        children = [space.feature_space]
    return any(_has_text(child) for child in children)


def _mask_key(observation_space: gym.Space[Any], action_space: gym.Space[Any]) -> str | None:
    if not (isinstance(observation_space, spaces.Dict) and isinstance(action_space, spaces.Discrete)):
        return None
    mask = observation_space.spaces.get(MASK_KEY)
    if isinstance(mask, (spaces.MultiBinary, spaces.Box)) and tuple(mask.shape or ()) == (
        int(action_space.n),
    ):
        return MASK_KEY
    return None


class PolicyEnv(gym.Wrapper[Any, Any, Any, Any]):
    """A single teaching env in the spaces of its :class:`PolicyAdapter` (what SB3's ``DummyVecEnv`` or
    ``check_env`` take)."""

    def __init__(self, env: gym.Env[Any, Any], adapter: PolicyAdapter | None = None) -> None:
        super().__init__(env)
        self.adapter = adapter or PolicyAdapter(env.observation_space, env.action_space, name=_env_name(env))
        self.observation_space = self.adapter.observation_space
        self.action_space = self.adapter.action_space
        self._last_obs: Any = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self._last_obs = obs
        return self.adapter.observation(obs), info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(self.adapter.action(action, self._last_obs))
        self._last_obs = obs
        return self.adapter.observation(obs), reward, terminated, truncated, info


class PolicyVectorEnv(VectorWrapper):  # type: ignore[type-arg]
    """A vector env of teaching envs in the spaces of its :class:`PolicyAdapter` (wrap it in
    :class:`SB3VecEnv` for SB3). Keeps the last observation of each sub-env for its action mask, through
    partial resets (``options["reset_mask"]``) too."""

    def __init__(self, env: VectorEnv[Any, Any, Any], adapter: PolicyAdapter | None = None) -> None:
        super().__init__(env)
        name = type(env.unwrapped).__name__
        self.adapter = adapter or PolicyAdapter(
            env.single_observation_space, env.single_action_space, name=name
        )
        self.single_observation_space = self.adapter.observation_space
        self.single_action_space = self.adapter.action_space
        self.observation_space = batch_space(self.adapter.observation_space, self.num_envs)
        self.action_space = batch_space(self.adapter.action_space, self.num_envs)
        self._last_obs: Any = None

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)  # type: ignore[arg-type]
        mask = (options or {}).get("reset_mask")
        if mask is None or self._last_obs is None:
            self._last_obs = copy_obs(obs)
        else:
            self._last_obs = merge_rows(self._last_obs, copy_obs(obs), np.asarray(mask, dtype=bool))
        return self.adapter.observations(obs, self.num_envs), info

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        obs, rewards, terminated, truncated, info = self.env.step(
            self.adapter.actions(actions, self._last_obs)
        )
        self._last_obs = copy_obs(obs)
        return self.adapter.observations(obs, self.num_envs), rewards, terminated, truncated, info


def policy_env(env: Any, adapter: PolicyAdapter | None = None) -> Any:
    """``env`` in the spaces an SB3 policy acts in: a :class:`PolicyVectorEnv` for a Gymnasium vector env,
    a :class:`PolicyEnv` for a single env (see the module's "Policy adapters")."""
    if isinstance(env, VectorEnv):
        return PolicyVectorEnv(env, adapter)
    if isinstance(env, gym.Env):
        return PolicyEnv(env, adapter)
    raise ConfigError(f"policy_env wraps a gymnasium Env or VectorEnv, got {type(env).__name__}: {env!r}")


def _env_name(env: gym.Env[Any, Any]) -> str:
    return env.spec.id if env.spec is not None else type(env.unwrapped).__name__
