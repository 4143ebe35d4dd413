"""Small numerically safe functions shared by students, envs and teachers."""

from __future__ import annotations

from typing import Any

import numpy as np


def sigmoid(x: Any) -> Any:
    """The logistic function, written with tanh so that it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


def log_sigmoid(x: Any) -> Any:
    """``log(sigmoid(x))``, finite for every finite ``x``."""
    return -np.logaddexp(0.0, -np.asarray(x, dtype=np.float64))


def logit(p: Any, eps: float = 1e-6) -> Any:
    """``log(p / (1 - p))`` with ``p`` clipped to ``[eps, 1 - eps]``."""
    p = np.clip(np.asarray(p, dtype=np.float64), eps, 1.0 - eps)
    return np.log(p / (1.0 - p))
