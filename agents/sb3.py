"""Train Stable-Baselines3 algorithms on Gymnasium 1.x vector envs: :class:`SB3VecEnv`.

``SB3VecEnv(gymnasium.make_vec(env_id, num_envs=N, ...))`` exposes a ``gymnasium.vector.VectorEnv`` (the
``"sync"``/``"async"`` vectorizers or a native batched ``vector_entry_point`` env) as an SB3 ``VecEnv``,
so that e.g. ``PPO("MultiInputPolicy", SB3VecEnv(venv))`` trains on it::

    venv = gymnasium.make_vec("teachgym/SkillList-Sim-v0", num_envs=4, vectorization_mode="sync")
    model = PPO("MultiInputPolicy", SB3VecEnv(venv), n_steps=8).learn(1024)

## Autoreset

SB3 expects *same-step* autoreset: the step that ends an episode returns ``done=True`` with the next
episode's first observation, and the episode's last observation in ``infos[i]["terminal_observation"]``
(``infos[i]["TimeLimit.truncated"]`` is ``truncated and not terminated``). The adapter reads the vector
env's ``metadata["autoreset_mode"]``:

* ``SAME_STEP``: used as it is; the last observation and info come from ``info["final_obs"]`` and
  ``info["final_info"]``, the reset info goes to ``reset_infos``.
* ``NEXT_STEP`` (Gymnasium's default) or ``DISABLED``: right after a step that ends episodes, the
  adapter resets the ended sub-envs with ``reset(options={"reset_mask": done})``, so the vector env
  never autoresets on its own. The sync/async vectorizers support ``reset_mask``; another vector env
  declares it with ``metadata["supports_reset_mask"] = True`` (or pass ``reset_mask=True``). Without it,
  the adapter falls back to a full ``reset()`` when every sub-env ended at once, and raises
  :class:`~teachgym.errors.UnsupportedError` when only some did.

## Seeds

As in SB3's ``DummyVecEnv``: ``seed(s)`` (and ``set_options``) take effect at the next ``reset()`` only,
which passes sub-env ``i`` the seed ``s + i`` (to the vector env as the int ``s``, Gymnasium's
convention; as a list only for other seeds). An episode that ends restarts its sub-env with
``reset(seed=None)``: the sub-env's generator continues, so every later episode of sub-env ``i`` is
fixed by the seed of the last ``reset()``, exactly as ``DummyVecEnv`` over ``gymnasium.make`` envs.

## Policy adapters

:class:`PolicyAdapter` maps a teaching env's spaces to spaces an SB3 policy acts in, and the policy's
actions back; :func:`policy_env` applies it to a single env (:class:`PolicyEnv`) or a vector env
(:class:`PolicyVectorEnv`), and :class:`SB3Teacher` to a trained model acting as a ``Teacher``:

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

## Trained teachers

:func:`load_teacher` (``teachgym.agents.make("sb3:DIR", env)``) loads what ``teachgym train`` wrote to
``DIR`` as an :class:`SB3Teacher`. **Loading an SB3 zip executes code from it** (SB3 stores parts of a
model with cloudpickle): load only files from a source you trust.
"""

from __future__ import annotations

import functools
import json
import math
import warnings
import zipfile
from collections.abc import Sequence
from copy import deepcopy
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv, VectorEnv, VectorWrapper
from gymnasium.vector.utils import batch_space, iterate
from stable_baselines3 import A2C, DQN, PPO, SAC
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

from teachgym.agents.base import BaseTeacher, Observation
from teachgym.errors import ConfigError, UnsupportedError
from teachgym.task import TaskDescription

__all__ = [
    "ALGORITHMS",
    "ALLOCATION_SCALE",
    "METADATA_FILE",
    "MODEL_FILE",
    "PolicyAdapter",
    "PolicyEnv",
    "PolicyVectorEnv",
    "SB3Teacher",
    "SB3VecEnv",
    "info_to_list",
    "load_teacher",
    "policy_env",
    "read_metadata",
]

#: The spaces SB3's policies take (a ``Dict`` of the observation ones for ``MultiInputPolicy``).
_SB3_OBSERVATION_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)
_SB3_ACTION_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


class SB3VecEnv(VecEnv):
    """An SB3 ``VecEnv`` over a Gymnasium 1.x ``VectorEnv`` with same-step autoreset (see the module).

    :param venv: the vector env; the adapter owns it from now on (``close`` closes it).
    :param reset_mask: whether ``venv.reset(options={"reset_mask": mask})`` resets only the masked
        sub-envs (NEXT_STEP/DISABLED envs only). ``None`` detects it: True for Gymnasium's sync and
        async vectorizers, else ``venv.metadata["supports_reset_mask"]`` (default False).
    :raises ConfigError: ``venv`` is not a ``gymnasium.vector.VectorEnv``.
    :raises UnsupportedError: its spaces are not ones SB3 takes, or its autoreset mode is unknown.
    """

    def __init__(self, venv: VectorEnv[Any, Any, Any], *, reset_mask: bool | None = None) -> None:
        if not isinstance(venv, VectorEnv):
            raise ConfigError(
                f"SB3VecEnv wraps a gymnasium.vector.VectorEnv (e.g. gymnasium.make_vec(id, num_envs=N)), "
                f"got {type(venv).__name__}: {venv!r}"
            )
        _check_space(venv.single_observation_space, "observation", _SB3_OBSERVATION_SPACES, allow_dict=True)
        _check_space(venv.single_action_space, "action", _SB3_ACTION_SPACES, allow_dict=False)
        if "autoreset_mode" not in venv.metadata:
            raise UnsupportedError(
                f"{type(venv.unwrapped).__name__}.metadata has no 'autoreset_mode' (a "
                "gymnasium.vector.AutoresetMode); every Gymnasium >= 1.1 vector env declares it"
            )
        mode = venv.metadata["autoreset_mode"]
        try:
            self.autoreset_mode = AutoresetMode(mode)
        except ValueError:
            raise UnsupportedError(
                f"venv.metadata['autoreset_mode']={mode!r} is not one of {[m.value for m in AutoresetMode]}"
            ) from None
        if reset_mask is None:
            reset_mask = isinstance(venv.unwrapped, (SyncVectorEnv, AsyncVectorEnv)) or bool(
                venv.metadata.get("supports_reset_mask", False)
            )
        self.venv = venv
        self.supports_reset_mask = reset_mask
        self._actions: np.ndarray | None = None
        super().__init__(int(venv.num_envs), venv.single_observation_space, venv.single_action_space)
        # What SB3 sees is same-step autoreset, whatever the vector env does.
        self.metadata: dict[str, Any] = {**venv.metadata, "autoreset_mode": AutoresetMode.SAME_STEP}

    # -- reset and step -------------------------------------------------------------------------

    def reset(self) -> VecEnvObs:
        """Reset every sub-env with the seeds and options set since the last reset (then forget them)."""
        # Sync/async vectorizers take a list of seeds too; VectorEnv's signature says int | None.
        obs, info = self.venv.reset(seed=self._reset_seed(), options=self._reset_option())  # type: ignore[arg-type]
        self._reset_seeds()
        self._reset_options()
        self.reset_infos = info_to_list(info, self.num_envs)
        return _copy_obs(obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() called without step_async()")
        actions, self._actions = self._actions, None
        obs, rewards, terminated, truncated, info = self.venv.step(actions)
        obs = _copy_obs(obs)  # a vectorizer with copy=False overwrites its buffer on the next reset
        terminated = np.asarray(terminated, dtype=bool)
        truncated = np.asarray(truncated, dtype=bool)
        dones = terminated | truncated
        infos = info_to_list(info, self.num_envs)
        if self.autoreset_mode is AutoresetMode.SAME_STEP:
            for i in np.flatnonzero(dones).tolist():
                step_info = dict(infos[i].get("final_info", {}))
                if "final_obs" not in infos[i]:
                    raise UnsupportedError(
                        f"sub-env {i} ended in a SAME_STEP vector env but info has no 'final_obs' for it "
                        f"(info keys: {sorted(info)})"
                    )
                step_info["terminal_observation"] = deepcopy(infos[i]["final_obs"])
                reset_info = {k: v for k, v in infos[i].items() if k not in ("final_obs", "final_info")}
                self.reset_infos[i] = reset_info
                infos[i] = step_info
        elif dones.any():
            ended = np.flatnonzero(dones).tolist()
            terminal = {i: _obs_row(obs, i) for i in ended}  # taken before the reset merges rows in
            obs = self._reset_done(obs, dones)
            for i in ended:
                infos[i]["terminal_observation"] = terminal[i]
        for i in range(self.num_envs):
            infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
        return obs, np.asarray(rewards, dtype=np.float32), dones, infos

    def _reset_done(self, obs: VecEnvObs, dones: np.ndarray) -> VecEnvObs:
        """Reset the ended sub-envs (seed None: their generators continue); return the merged batch."""
        if self.supports_reset_mask:
            new_obs, info = self.venv.reset(options={"reset_mask": dones.copy()})
        elif dones.all():
            new_obs, info = self.venv.reset()
        else:
            raise UnsupportedError(
                f"sub-envs {np.flatnonzero(dones).tolist()} of {self.num_envs} ended, but the vector env "
                f"autoresets in {self.autoreset_mode.value} mode and does not support "
                "reset(options={'reset_mask': ...}); make it with autoreset_mode=SAME_STEP, support "
                "reset_mask (metadata['supports_reset_mask']=True), or end all episodes together"
            )
        reset_infos = info_to_list(info, self.num_envs)
        for i in np.flatnonzero(dones):
            self.reset_infos[i] = reset_infos[i]
        # Only the masked rows are read: an env may leave anything in the others.
        return _merge_rows(obs, _copy_obs(new_obs), dones)

    def _reset_seed(self) -> int | list[int | None] | None:
        seeds = list(self._seeds)
        if all(s is None for s in seeds):
            return None
        first = seeds[0]
        if first is not None and seeds == [first + i for i in range(self.num_envs)]:
            return first  # Gymnasium's convention: sub-env i gets seed + i
        return seeds

    def _reset_option(self) -> dict[str, Any] | None:
        options = self._options
        if all(not o for o in options):
            return None
        if any(o != options[0] for o in options[1:]):
            raise UnsupportedError(
                f"a Gymnasium vector env takes one options dict for all sub-envs, got {options!r}"
            )
        return deepcopy(options[0])

    # -- the rest of the VecEnv API --------------------------------------------------------------

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The attribute of each sub-env.

        Sync vectorizer: read from the chosen sub-envs, as ``DummyVecEnv`` does. Other vector envs:
        ``venv.get_attr`` (which calls the attribute if it is a method); one without ``get_attr`` (a
        native batched env) gives its own attribute to every index.
        """
        index = list(self._get_indices(indices))
        unwrapped = self.venv.unwrapped
        if isinstance(unwrapped, SyncVectorEnv):
            return [unwrapped.envs[i].get_wrapper_attr(attr_name) for i in index]
        getter = _forwarded(self.venv, "get_attr")
        if getter is None:
            if not hasattr(self.venv, attr_name):
                raise AttributeError(f"{type(unwrapped).__name__} has no attribute {attr_name!r}")
            return [getattr(self.venv, attr_name) for _ in index]
        values = list(getter(attr_name))
        return [values[i] for i in index]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set the attribute on the chosen sub-envs (a native batched env: on itself, all at once only)."""
        index = list(self._get_indices(indices))
        every = sorted(index) == list(range(self.num_envs))
        unwrapped = self.venv.unwrapped
        if isinstance(unwrapped, SyncVectorEnv):
            for i in index:
                unwrapped.envs[i].set_wrapper_attr(attr_name, value)
            return
        setter = _forwarded(self.venv, "set_attr")
        if setter is None:
            if not every:
                raise UnsupportedError(
                    f"{type(unwrapped).__name__} has no set_attr; only all sub-envs at once can be set, "
                    f"got indices {index}"
                )
            setattr(self.venv, attr_name, value)
            return
        # Gymnasium sets every sub-env at once: keep the others' values (so the attribute must exist).
        values = [value] * self.num_envs if every else self.get_attr(attr_name)
        for i in index:
            values[i] = value
        setter(attr_name, values)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        """Call the method on the chosen sub-envs (``venv.call`` when all are chosen; only the sync
        vectorizer can call some; a native batched env without ``call`` is called once, on itself)."""
        index = list(self._get_indices(indices))
        unwrapped = self.venv.unwrapped
        if isinstance(unwrapped, SyncVectorEnv):
            return [
                unwrapped.envs[i].get_wrapper_attr(method_name)(*method_args, **method_kwargs) for i in index
            ]
        if sorted(index) != list(range(self.num_envs)):
            raise UnsupportedError(
                f"env_method({method_name!r}) on sub-envs {index} needs a sync vector env, "
                f"got {type(unwrapped).__name__}"
            )
        call = _forwarded(self.venv, "call")
        if call is None:
            result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
            return [result for _ in index]
        results = list(call(method_name, *method_args, **method_kwargs))
        return [results[i] for i in index]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        """Whether each sub-env is wrapped with ``wrapper_class`` (False where the sub-envs are not
        Python objects that can be looked at: async workers, native batched envs)."""
        index = self._get_indices(indices)
        unwrapped = self.venv.unwrapped
        if isinstance(unwrapped, SyncVectorEnv):
            from stable_baselines3.common.env_util import is_wrapped

            return [is_wrapped(unwrapped.envs[i], wrapper_class) for i in index]
        return [False for _ in index]

    def get_images(self) -> Sequence[np.ndarray | None]:
        if self.render_mode != "rgb_array":
            warnings.warn(
                f"the render mode is {self.render_mode!r}, but get_images() needs 'rgb_array'", stacklevel=2
            )
            return [None] * self.num_envs
        frames = self.venv.render()
        return [None] * self.num_envs if frames is None else [np.asarray(frame) for frame in frames]


def info_to_list(info: dict[str, Any], num_envs: int) -> list[dict[str, Any]]:
    """Gymnasium's vector info (arrays with ``"_key"`` masks) as SB3's list of per-env info dicts.

    Sub-env ``i`` gets ``key`` where ``info["_key"][i]`` is true (every sub-env where there is no
    mask); nested dicts are converted the same way.
    """
    infos: list[dict[str, Any]] = [{} for _ in range(num_envs)]
    for key, value in info.items():
        if key.startswith("_") and key[1:] in info:
            continue  # the mask of info[key[1:]]
        mask = info.get(f"_{key}")
        rows = info_to_list(value, num_envs) if isinstance(value, dict) else _rows(value, num_envs, key)
        for i in range(num_envs):
            if mask is None or mask[i]:
                infos[i][key] = rows[i]
    return infos


def _rows(value: Any, num_envs: int, key: str) -> list[Any]:
    if isinstance(value, (np.ndarray, list, tuple)) and len(value) == num_envs:
        return list(value)
    raise UnsupportedError(
        f"vector info[{key!r}] should be an array of length num_envs={num_envs}, got {type(value).__name__}"
        + (f" of length {len(value)}" if hasattr(value, "__len__") else "")
    )


def _check_space(space: gym.Space[Any], what: str, allowed: tuple[type, ...], *, allow_dict: bool) -> None:
    subspaces = list(space.spaces.values()) if allow_dict and isinstance(space, spaces.Dict) else [space]
    for sub in subspaces:
        if not isinstance(sub, allowed):
            names = ", ".join(t.__name__ for t in allowed) + (" (or a Dict of them)" if allow_dict else "")
            raise UnsupportedError(f"SB3 takes {what} spaces {names}; the vector env's is {space}")


def _copy_obs(obs: Any) -> VecEnvObs:
    if isinstance(obs, dict):
        return {key: np.array(value, copy=True) for key, value in obs.items()}
    return np.array(obs, copy=True)


def _obs_row(obs: VecEnvObs, i: int) -> Any:
    if isinstance(obs, dict):
        return {key: value[i].copy() for key, value in obs.items()}
    assert isinstance(obs, np.ndarray)
    return obs[i].copy()


def _merge_rows(obs: VecEnvObs, new: VecEnvObs, mask: np.ndarray) -> VecEnvObs:
    """``obs`` with the rows where ``mask`` is true taken from ``new`` (in place)."""
    if isinstance(obs, dict):
        assert isinstance(new, dict)
        for key, value in obs.items():
            value[mask] = new[key][mask]
        return obs
    assert isinstance(obs, np.ndarray) and isinstance(new, np.ndarray)
    obs[mask] = new[mask]
    return obs


def _forwarded(venv: VectorEnv[Any, Any, Any], name: str) -> Any:
    """``venv.<name>`` or, through vector wrappers (which do not forward it), ``venv.unwrapped.<name>``."""
    for env in (venv, venv.unwrapped):
        method = getattr(env, name, None)
        if callable(method):
            return method
    return None


# -- policy adapters ---------------------------------------------------------------------------------

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
            self._last_obs = _copy_obs(obs)
        else:
            self._last_obs = _merge_rows(self._last_obs, _copy_obs(obs), np.asarray(mask, dtype=bool))
        return self.adapter.observations(obs, self.num_envs), info

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        obs, rewards, terminated, truncated, info = self.env.step(
            self.adapter.actions(actions, self._last_obs)
        )
        self._last_obs = _copy_obs(obs)
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


# -- trained teachers ---------------------------------------------------------------------------------

#: ``teachgym train --algo`` name -> SB3 algorithm class.
ALGORITHMS: dict[str, type[Any]] = {"ppo": PPO, "a2c": A2C, "dqn": DQN, "sac": SAC}
#: The files of a trained teacher's folder (written by :mod:`teachgym.train`).
MODEL_FILE = "best_model.zip"
METADATA_FILE = "teacher.json"
#: The entries of an SB3 model zip that must be there (``save_to_zip_file``).
_SB3_ZIP_ENTRIES = ("data", "policy.pth")


class SB3Teacher(BaseTeacher):
    """A trained SB3 model as a :class:`~teachgym.agents.base.Teacher`: ``act`` is the model's
    deterministic ``predict`` on the adapted observation, mapped back by the adapter."""

    def __init__(self, model: Any, adapter: PolicyAdapter, *, source: str = "") -> None:
        check_policy_spaces(model, adapter, source=source or type(model).__name__)
        self.model = model
        self.adapter = adapter
        self.source = source

    def act(self, obs: Observation, info: dict[str, Any]) -> Any:
        action, _ = self.model.predict(self.adapter.observation(obs), deterministic=True)
        return self.adapter.action(action, obs)


def check_policy_spaces(model: Any, adapter: PolicyAdapter, *, source: str) -> None:
    """Refuse a model whose spaces differ from the adapter's (an UnsupportedError naming both)."""
    for what, model_space, env_space in (
        ("observation", model.observation_space, adapter.observation_space),
        ("action", model.action_space, adapter.action_space),
    ):
        if model_space != env_space:
            own = adapter.env_observation_space if what == "observation" else adapter.env_action_space
            raise UnsupportedError(
                f"the policy {source} has {what} space {model_space}, but {adapter.name} gives its policy "
                f"{what} space {env_space}" + ("" if own == env_space else f" (the env's own: {own})")
            )


def read_metadata(directory: str | Path) -> dict[str, Any]:
    """The metadata (``teacher.json``) of a trained teacher's folder, checked.

    :raises ConfigError: a missing folder or file, a file that is not a JSON object, or one without the
        keys a trained teacher needs (``env_id``, ``family``, ``algo``), naming the path.
    """
    folder = Path(directory)
    expected = f"a folder written by 'teachgym train' (with {MODEL_FILE} and {METADATA_FILE})"
    if not folder.is_dir():
        raise ConfigError(
            f"trained teacher folder {str(folder)!r} does not exist or is not a folder; expected {expected}"
        )
    path = folder / METADATA_FILE
    try:
        metadata = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{str(path)!r} is missing; expected {expected}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(
            f"{str(path)!r} is not a JSON teacher metadata file ({error}); expected {expected}"
        ) from None
    missing = [
        key for key in ("env_id", "family", "algo") if not isinstance(metadata, dict) or key not in metadata
    ]
    if missing:
        raise ConfigError(
            f"{str(path)!r} lacks {missing}; expected the metadata {METADATA_FILE} of {expected}"
        )
    if metadata["algo"] not in ALGORITHMS:
        raise ConfigError(
            f"{str(path)!r} names algo {metadata['algo']!r}; expected one of {sorted(ALGORITHMS)}"
        )
    return metadata


def trained_teachers(directory: str | Path) -> dict[str, dict[str, Any]]:
    """Env id -> metadata (with its ``"folder"``) of the teachers in ``directory``: the one teacher a
    ``teachgym train`` folder holds, or one per env id for a folder of such folders (one teacher name,
    e.g. ``sb3:leaderboards/policies/ppo-v1``, for every task it was trained on).

    :raises ConfigError: as :func:`read_metadata`, or a folder with neither ``teacher.json`` nor
        subfolders holding one, or two subfolders trained on the same env id.
    """
    folder = Path(directory)
    if not folder.is_dir() or (folder / METADATA_FILE).exists():
        return {str((m := read_metadata(folder))["env_id"]): {**m, "folder": str(folder)}}
    found: dict[str, dict[str, Any]] = {}
    for sub in sorted(p for p in folder.iterdir() if (p / METADATA_FILE).is_file()):
        metadata = read_metadata(sub)
        env_id = str(metadata["env_id"])
        if env_id in found:
            raise ConfigError(
                f"{str(folder)!r} holds two teachers trained on {env_id}: {found[env_id]['folder']!r} and "
                f"{str(sub)!r}; expected one per env id"
            )
        found[env_id] = {**metadata, "folder": str(sub)}
    if not found:
        raise ConfigError(
            f"{str(folder / METADATA_FILE)!r} is missing; expected a folder written by 'teachgym train' "
            f"(with {MODEL_FILE} and {METADATA_FILE}), or a folder of such folders"
        )
    return found


def load_teacher(directory: str | Path, task: TaskDescription) -> SB3Teacher:
    """The teacher trained into ``directory`` by ``teachgym train``, for the described ``task`` (its
    family must be the one it was trained on, and its spaces those of the policy; another env id is
    allowed, e.g. to test transfer). For a folder of teachers (:func:`trained_teachers`), the one
    trained on the task's env id. ``teachgym.agents.make("sb3:DIR", env)`` calls this with the env's
    description.

    **Security:** an SB3 zip is partly cloudpickle data; loading one *executes code* from it. Load
    only files you trust (as with any pickle).

    :raises ConfigError: a missing folder, a malformed ``teacher.json``, a file that is not an SB3
        model zip or does not load (naming the path and what was expected).
    :raises UnsupportedError: another family, or spaces that do not match (naming both spaces).
    """
    teachers = trained_teachers(directory)
    # A folder of teachers picks the one trained on this env id (else the only one, for transfer).
    metadata = teachers.get(str(task.env_id)) or next(iter(teachers.values()))
    directory = metadata["folder"]
    name = task.env_id or f"a {task.family} env"
    if metadata["family"] != task.family:
        raise UnsupportedError(
            f"the teacher in {str(directory)!r} was trained on {metadata['env_id']} (family "
            f"{metadata['family']!r}), not on the family {task.family!r} of {name}"
        )
    adapter = PolicyAdapter(task.observation_space, task.action_space, name=name)
    path = Path(directory) / str(metadata.get("model", MODEL_FILE))
    model = _load_model(path, metadata["algo"])
    return SB3Teacher(model, adapter, source=str(path))


def _load_model(path: Path, algo: str) -> Any:
    expected = f"a stable-baselines3 {algo.upper()} model zip saved by 'teachgym train'"
    try:
        stat = path.stat()
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except FileNotFoundError:
        raise ConfigError(f"{str(path)!r} is missing; expected {expected}") from None
    except (OSError, zipfile.BadZipFile) as error:
        raise ConfigError(f"{str(path)!r} is not a zip file ({error}); expected {expected}") from None
    missing = [name for name in _SB3_ZIP_ENTRIES if name not in names]
    if missing:
        raise ConfigError(f"{str(path)!r} is a zip without {missing}; expected {expected}")
    return _load_model_cached(str(path.resolve()), algo, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load_model_cached(path: str, algo: str, mtime_ns: int, size: int) -> Any:
    """One load per file version (a benchmark builds the teacher for every episode); the model is only
    read from (``predict``), so teachers can share it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SB3's notes on saved Python/torch versions
            return ALGORITHMS[algo].load(path, device="cpu")
    except Exception as error:  # SB3 raises many kinds (KeyError, pickle errors, RuntimeError)
        raise ConfigError(
            f"{path!r} could not be loaded as a stable-baselines3 {algo.upper()} model "
            f"({type(error).__name__}: {error}); expected a model saved by 'teachgym train'"
        ) from None
