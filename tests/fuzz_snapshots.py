"""Exact snapshots of a teaching env's state, for the fuzz tests (tests/test_fuzz.py): what a refused
step must leave unchanged (the budget, every random generator, the student's parameters and optimizer,
the family's own state), frozen into comparable values, and an equality check that names the first
difference.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from teachgym.env import TeachingEnv
from teachgym.skills import Profile
from teachgym.students.lm import LMStudent
from teachgym.students.simulated import SimulatedStudent
from teachgym.students.stacked import StackedMembers
from teachgym.vector import TeachingVectorEnv


def freeze(value: Any) -> Any:
    """A comparable, exact copy of ``value``: arrays and tensors by dtype, shape and bytes, generators
    by state, floats by their hex form (so that NaN equals NaN and -0.0 differs from 0.0)."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
        return ("tensor", str(tensor.dtype), tuple(tensor.shape), tensor.contiguous().numpy().tobytes())
    if isinstance(value, torch.Generator):
        return ("torch-generator", value.get_state().numpy().tobytes())
    if isinstance(value, np.random.Generator):
        return ("generator", freeze(value.bit_generator.state))
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return ("objects", value.shape, tuple(freeze(v) for v in value.ravel().tolist()))
        return ("array", value.dtype.str, value.shape, np.ascontiguousarray(value).tobytes())
    if isinstance(value, np.generic):
        return freeze(np.asarray(value))
    if isinstance(value, bool | int | str | bytes) or value is None:
        return (type(value).__name__, value)
    if isinstance(value, float):
        return ("float", float(value).hex())
    if isinstance(value, complex):
        return ("complex", value.real.hex(), value.imag.hex())
    if isinstance(value, dict):
        return ("dict", tuple((freeze(k), freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(freeze(v) for v in value))
    if isinstance(value, gym.Space):
        return ("space", repr(value))
    if isinstance(value, Profile):  # its cached properties appear in vars() once read: not state
        return ("profile", freeze(value.level_accuracy), freeze(value.level_counts))
    if dataclasses.is_dataclass(value) or hasattr(value, "__dict__"):
        return (type(value).__name__, freeze(vars(value)))
    return (type(value).__name__, repr(value))


def student_state(student: Any) -> dict[str, Any]:
    """Everything a student (or a population) learns or draws from, as :func:`freeze` sees it."""
    if isinstance(student, SimulatedStudent):
        return {
            "prior": student.prior,
            "clock": student.clock,
            "memory": vars(student._memory),
            "response_rngs": [rng.bit_generator.state for rng in student._response_rngs or []],
            "answer_keys": student._answer_keys,
            "members": [
                student.member_learning_rate,
                student.member_forgetting,
                student.member_guess,
                student.member_slip,
            ],
        }
    if isinstance(student, StackedMembers):  # MLP and GRU populations: stacked parameters
        optimizer = student._optimizer
        return {
            "parameters": student._get_stacked(),
            "generators": [generator.get_state() for generator in student._generators],
            "optimizer": [optimizer.first_moment, optimizer.second_moment, optimizer.num_updates],
        }
    if isinstance(student, LMStudent):  # every parameter of the small model: a few MB, copied in ms
        return {
            "parameters": [[p for _, p in model.named_parameters()] for model in student.models],
            "generators": [generator.get_state() for generator in student._generators],
            "optimizer": [optimizer.state_dict()["state"] for optimizer in student.optimizers],
        }
    raise NotImplementedError(f"no snapshot rule for {type(student).__name__}; add one here")


def snapshot(env: gym.Env | TeachingVectorEnv) -> Any:
    """A frozen copy of everything a refused step must leave unchanged: the episode state (budget,
    profiles, every generator, the family's own state), the observation, and the student's state and
    generators; for a vector env also the autoreset flags."""
    base = env.unwrapped
    assert isinstance(base, TeachingEnv | TeachingVectorEnv)
    state: dict[str, Any] = {
        "episodes": base.state,
        "np_random": getattr(base, "_np_random", None),
        "observation": base.loop.observe(base.state) if base.state is not None else None,
        "student": student_state(base.loop.student),
    }
    if isinstance(base, TeachingVectorEnv):
        state.update(autoreset=base._autoreset, observations=base._observation)
    return freeze(state)


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    """Where two frozen values first differ, as a path of keys and indices."""
    if type(a) is not type(b) or not isinstance(a, tuple) or len(a) != len(b):
        return path or "<root>"
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if x != y:
            is_item = (
                isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], tuple) and x[0][:1] == ("str",)
            )
            return _first_difference(x, y, f"{path}/{x[0][1] if is_item else i}")
    return path or "<root>"


def assert_same(a: Any, b: Any, what: str = "state") -> None:
    """Exact equality of two values (or snapshots) after :func:`freeze`: bitwise for arrays, tensors
    and floats, by state for generators."""
    frozen_a, frozen_b = freeze(a), freeze(b)
    assert frozen_a == frozen_b, f"{what} differs at {_first_difference(frozen_a, frozen_b)}"
