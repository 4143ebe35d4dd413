"""Train Stable-Baselines3 algorithms on Gymnasium 1.x vector envs: :class:`SB3VecEnv`.

``SB3VecEnv(gymnasium.make_vec(env_id, num_envs=N, ...))`` exposes a ``gymnasium.vector.VectorEnv`` (the
``"sync"``/``"async"`` vectorizers or a native batched ``vector_entry_point`` env) as an SB3 ``VecEnv``,
so that e.g. ``PPO("MultiInputPolicy", SB3VecEnv(venv))`` trains on it::

    venv = gymnasium.make_vec("teachgym/SkillList-Sim-v0", num_envs=4, vectorization_mode="sync")
    model = PPO("MultiInputPolicy", SB3VecEnv(venv), n_steps=8).learn(1024)

A teaching env whose spaces SB3 does not take as they are goes through
:class:`~teachgym.rl.adapters.PolicyVectorEnv` first.

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
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from copy import deepcopy
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv, VectorEnv
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

from teachgym.errors import ConfigError, UnsupportedError
from teachgym.rl.batches import copy_obs, merge_rows, obs_row

__all__ = ["SB3VecEnv", "info_to_list"]

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
        return copy_obs(obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() called without step_async()")
        actions, self._actions = self._actions, None
        obs, rewards, terminated, truncated, info = self.venv.step(actions)
        obs = copy_obs(obs)  # a vectorizer with copy=False overwrites its buffer on the next reset
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
            terminal = {i: obs_row(obs, i) for i in ended}  # taken before the reset merges rows in
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
        return merge_rows(obs, copy_obs(new_obs), dones)

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


def _forwarded(venv: VectorEnv[Any, Any, Any], name: str) -> Any:
    """``venv.<name>`` or, through vector wrappers (which do not forward it), ``venv.unwrapped.<name>``."""
    for env in (venv, venv.unwrapped):
        method = getattr(env, name, None)
        if callable(method):
            return method
    return None
