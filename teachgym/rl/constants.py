"""Names shared by ``teachgym train`` and the ``sb3:DIR`` teacher: the SB3 algorithms by ``--algo`` name
and the files of a trained teacher's folder."""

from __future__ import annotations

from typing import Any

from stable_baselines3 import A2C, DQN, PPO, SAC

__all__ = ["ALGORITHMS", "METADATA_FILE", "MODEL_FILE"]

#: ``teachgym train --algo`` name -> SB3 algorithm class.
ALGORITHMS: dict[str, type[Any]] = {"ppo": PPO, "a2c": A2C, "dqn": DQN, "sac": SAC}
#: The files of a trained teacher's folder (written by :mod:`teachgym.train`): the best checkpoint and
#: the metadata.
MODEL_FILE = "best_model.zip"
METADATA_FILE = "teacher.json"
