"""Small numerically safe functions shared by students, envs and teachers."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit, log_expit

__all__ = ["expit", "log_sigmoid", "logit", "sigmoid"]


def sigmoid(x: Any) -> Any:
    """The logistic function in float64, never overflowing (SciPy's ``expit``: 15x numpy's tanh
    form on this project's machine, whose ``tanh`` is not vectorized)."""
    return expit(np.asarray(x, dtype=np.float64))


def log_sigmoid(x: Any) -> Any:
    """``log(sigmoid(x))`` in float64, finite for every finite ``x``."""
    return log_expit(np.asarray(x, dtype=np.float64))


def logit(p: Any, eps: float = 1e-6) -> Any:
    """``log(p / (1 - p))`` with ``p`` clipped to ``[eps, 1 - eps]``."""
    p = np.clip(np.asarray(p, dtype=np.float64), eps, 1.0 - eps)
    return np.log(p / (1.0 - p))
