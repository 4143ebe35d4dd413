"""What a simulated learner retains of its practice: power-law forgetting, exactly or in bounded state.

Both models give the ability a member has gained so far, ``sum over traces of gain * R(age)``, with
the retention ``R(t) = (1 + t / tau) ** -d`` of a trace ``t`` steps old (Wixted & Ebbesen 1991):

- :class:`TraceMemory` keeps every trace and sums them (exact; its state and its cost per step grow
  with the steps taken).
- :class:`MultiscaleMemory` keeps, per skill, a few leaky integrators with time constants spread
  over six decades, whose mixture is the power law (Mozer et al. 2009's Multiscale Context Model;
  the power law is a mixture of exponentials, ``R(t) = E[exp(-s t / tau)]`` for a gamma(d)-distributed
  rate ``s``). Its state and cost per step are constant; its retention is within 0.002 of the power
  law for every exponent ``d`` in [0.05, 1] and age up to 1,000 ``tau`` (``tests/test_counter_draws.py``;
  about 0.01 at ``d = 2`` and 0.04 at ``d = 5``, where the grid's trapezoid rule is coarse).
"""

from __future__ import annotations

import numpy as np

#: Rates ``s`` of the integrators (in units of ``1 / tau``): two per decade from 1e-4 to 40, and a
#: permanent one holding the mixture's mass below 1e-4 (a time constant beyond 10,000 ``tau``).
_STEP = np.log(10.0) / 2
_RATES = np.exp(np.arange(np.log(1e-4), np.log(40.0) + 1e-9, _STEP))
RATES = np.concatenate([[0.0], _RATES])


def multiscale_weights(exponent: np.ndarray) -> np.ndarray:
    """Weights ``(P, J)`` of the integrators (rates :data:`RATES`) whose mixture approximates
    ``(1 + t / tau) ** -d`` for each member's exponent ``d`` ``(P, 1)``; each row sums to 1, so a new
    trace is whole. The gamma(d) density in log-rate, ``s ** d * exp(-s)``, on a grid of step
    ``ln(10) / 2`` (the trapezoid rule), and the mass below the grid in the permanent integrator."""
    d = np.asarray(exponent, dtype=np.float64).reshape(-1, 1)
    grid = _RATES[None] ** d * np.exp(-_RATES[None]) * _STEP
    lowest = _RATES[0] ** d
    with np.errstate(divide="ignore"):
        tail = np.where(d > 0, lowest / np.where(d > 0, d, 1.0) - 0.5 * _STEP * lowest, 1.0)
    weights = np.concatenate([tail, np.where(d > 0, grid, 0.0)], axis=1)  # d = 0: nothing is forgotten
    return weights / weights.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]


class TraceMemory:
    """Every trace of practice, ``(T, P, K)`` gains laid down at clock times ``(T, P, 1)``."""

    def __init__(self, num_members: int, num_skills: int, exponent: np.ndarray, scale: float) -> None:
        self.exponent = exponent  # (P, 1)
        self.scale = scale
        self.gain = np.zeros((0, num_members, num_skills))
        self.time = np.zeros((0, num_members, 1))

    def retained(self, clock: np.ndarray) -> np.ndarray | None:
        """``(P, K)`` ability retained at ``clock`` ``(P, 1)``; None before any practice."""
        if not len(self.gain):
            return None
        retention = (1.0 + (clock - self.time) / self.scale) ** -self.exponent
        return (self.gain * retention).sum(axis=0)  # type: ignore[no-any-return]

    def add(self, gain: np.ndarray, clock: np.ndarray) -> None:
        """Lay down ``gain`` ``(P, K)`` at ``clock`` ``(P, 1)``."""
        self.gain = np.concatenate([self.gain, gain[None]])
        self.time = np.concatenate([self.time, clock[None]])

    def select(self, rows: np.ndarray) -> TraceMemory:
        sub = object.__new__(TraceMemory)
        sub.exponent, sub.scale = self.exponent[rows].copy(), self.scale
        sub.gain, sub.time = self.gain[:, rows].copy(), self.time[:, rows].copy()
        return sub

    def scatter(self, rows: np.ndarray, sub: TraceMemory, clock: np.ndarray) -> None:
        """Write ``sub`` (from :meth:`select` with ``rows``) back; ``clock`` ``(P, 1)`` is every
        member's clock now. Steps ``sub`` practised add rows in which the others gained nothing."""
        self.exponent[rows] = sub.exponent
        extra = len(sub.gain) - len(self.gain)
        if extra > 0:
            gain = np.zeros((extra, *self.gain.shape[1:]))
            time = np.broadcast_to(clock, (extra, *clock.shape)).copy()
            self.gain = np.concatenate([self.gain, gain])
            self.time = np.concatenate([self.time, time])
        length = len(sub.gain)
        self.gain[:length, rows] = sub.gain
        self.time[:length, rows] = sub.time
        if length < len(self.gain):  # sub was reset: its members have no traces any more
            self.gain[length:, rows] = 0.0
            self.time[length:, rows] = clock[rows]
        # Rows in which nobody gained add exactly zero to every ability: drop them.
        keep = self.gain.any(axis=(1, 2))
        if not keep.all():
            self.gain, self.time = self.gain[keep], self.time[keep]


class MultiscaleMemory:
    """Per member and skill, the contents ``(P, K, J)`` of ``J`` leaky integrators at rates
    :data:`RATES` ``/ tau``, as they stood at each member's clock ``updated`` ``(P, 1)``.

    The contents are float32 (a population of 4,096 learners of 8 skills keeps 1.7 MB, within a
    core's cache); the last retained ability is kept until the state or the clock changes (a step
    reads it to answer and again to learn)."""

    def __init__(self, num_members: int, num_skills: int, exponent: np.ndarray, scale: float) -> None:
        self.weights = multiscale_weights(exponent).astype(np.float32)  # (P, J)
        self.rates = RATES / scale  # (J,) per unit of time
        self.level = np.zeros((num_members, num_skills, len(RATES)), np.float32)
        self.updated = np.zeros((num_members, 1))
        self._read: tuple[np.ndarray, np.ndarray] | None = None  # (clock, retained) last read

    def _decay(self, elapsed: float) -> np.ndarray:
        """``(J,)`` factors by which the integrators decay in ``elapsed`` time."""
        return np.exp(-elapsed * self.rates).astype(np.float32)  # type: ignore[no-any-return]

    def _groups(self, clock: np.ndarray) -> list[tuple[float, np.ndarray | slice]]:
        """``(elapsed, members)`` for each distinct time since the members' last update: one group
        where every learner stepped at once. Each group decays by a matrix-vector product, the same
        arithmetic for a member in a population of any size (a per-member reduction rounds
        otherwise)."""
        elapsed = (clock - self.updated)[:, 0]
        if not elapsed.size or np.all(elapsed == elapsed[0]):  # every learner stepped at once
            return [(float(elapsed[0]) if elapsed.size else 0.0, slice(None))]
        return [(float(v), elapsed == v) for v in np.unique(elapsed)]

    def retained(self, clock: np.ndarray) -> np.ndarray:
        if self._read is not None and np.array_equal(self._read[0], clock):
            return self._read[1]
        value = np.empty(self.level.shape[:2], np.float32)
        for elapsed, members in self._groups(clock):
            value[members] = self.level[members] @ self._decay(elapsed)
        value64 = value.astype(np.float64)
        self._read = (np.array(clock, dtype=np.float64), value64)
        return value64

    def add(self, gain: np.ndarray, clock: np.ndarray) -> None:
        for elapsed, members in self._groups(clock):
            self.level[members] *= self._decay(elapsed)
        self.level += gain[:, :, None].astype(np.float32) * self.weights[:, None, :]
        self.updated = np.array(clock, dtype=np.float64)
        self._read = None

    def select(self, rows: np.ndarray) -> MultiscaleMemory:
        sub = object.__new__(MultiscaleMemory)
        sub.rates, sub._read = self.rates, None
        sub.weights, sub.level, sub.updated = self.weights[rows], self.level[rows], self.updated[rows]
        return sub

    def scatter(self, rows: np.ndarray, sub: MultiscaleMemory, clock: np.ndarray) -> None:
        for name in ("weights", "level", "updated"):
            getattr(self, name)[rows] = getattr(sub, name)
        self._read = None


#: ``forgetting`` option of the simulated student -> its memory.
MEMORIES: dict[str, type[TraceMemory] | type[MultiscaleMemory]] = {
    "power-law": TraceMemory,
    "multiscale": MultiscaleMemory,
}
