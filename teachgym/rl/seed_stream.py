"""A new student for every training episode: :class:`StudentSeedStream` seeds each sub-env reset of a
vector env with the next seed of a known range (``teachgym train`` starts it at
:func:`teachgym.train.train_seed_start`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import VectorEnv, VectorWrapper

from teachgym.errors import UnsupportedError

__all__ = ["StudentSeedStream"]


class StudentSeedStream(VectorWrapper):  # type: ignore[type-arg]
    """Each reset of a sub-env gets the next seed of ``start, start + 1, ...``: a new student per
    episode, from a known, disjoint range. Seeds passed to ``reset`` are ignored (the stream decides);
    ``options["reset_mask"]`` resets (and seeds) only the masked sub-envs, in index order.

    The wrapped env must not autoreset on its own (a sub-env reset there would get no seed from the
    stream): :class:`~teachgym.rl.vec_env.SB3VecEnv` resets every ended sub-env with ``reset_mask``
    before the next step, and a step after an episode ended without that raises UnsupportedError.
    """

    def __init__(self, env: VectorEnv[Any, Any, Any], start: int) -> None:
        super().__init__(env)
        self.start = self.next_seed = int(start)
        self._ended = np.zeros(self.num_envs, dtype=bool)

    def reset(self, *, seed: Any = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        mask = None if options is None else options.get("reset_mask")
        rows = range(self.num_envs) if mask is None else np.flatnonzero(mask).tolist()
        seeds: list[int | None] = [None] * self.num_envs
        for i in rows:
            seeds[i] = self.next_seed
            self.next_seed += 1
        self._ended[list(rows)] = False
        return self.env.reset(seed=seeds, options=options)  # type: ignore[arg-type]

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        if self._ended.any():
            raise UnsupportedError(
                f"sub-envs {np.flatnonzero(self._ended).tolist()} ended and were not reset with "
                "reset(options={'reset_mask': ...}); StudentSeedStream seeds every episode itself"
            )
        obs, rewards, terminated, truncated, info = self.env.step(actions)
        self._ended = np.asarray(terminated, dtype=bool) | np.asarray(truncated, dtype=bool)
        return obs, rewards, terminated, truncated, info

    @property
    def episodes_started(self) -> int:
        """The sub-env resets seeded so far (training episodes started)."""
        return self.next_seed - self.start
