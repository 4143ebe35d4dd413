"""Robust aggregate statistics for benchmark scores, after rliable (Agarwal et al., 2021), numpy only.

Scores are normalized scores (unitless, never clipped: below 0 or above 1 is possible), one per run
(seed) and task (env id). They come either as a matrix of shape ``(num_runs, num_tasks)`` (column
``j`` is task ``j``) or as a mapping task -> 1-D array of that task's per-run scores; in a mapping,
tasks may have different numbers of runs. :func:`scores_by_task` turns either form into a dict of
validated float arrays.

- :func:`iqm`: interquartile mean, identical to ``scipy.stats.trim_mean(x, 0.25)``;
- :func:`aggregate_iqm` (IQM over all runs x tasks pooled, as rliable) and :func:`aggregate_mean`
  (mean over tasks of per-task means);
- :func:`stratified_bootstrap_ci`: percentile interval of any statistic, resampling runs with
  replacement within each task separately;
- :func:`summarize`: mean, IQM and their intervals for one env's per-seed scores;
- :func:`probability_of_improvement` and :func:`probability_of_improvement_ci`: P(X > Y);
- :func:`paired_difference`: mean of per-seed differences with a Student t interval (the same seed
  is the same student under every teacher, so pairs share their noise), :func:`t_quantile`, and
  :func:`minimum_detectable_effect`.

Every function raises :class:`~teachgym.errors.ConfigError` naming the offending value on bad input.
"""

from __future__ import annotations

import math
import numbers
import reprlib
from collections.abc import Callable, Hashable, Mapping
from typing import TypedDict

import numpy as np
from numpy.typing import ArrayLike

from teachgym.errors import ConfigError

#: Scores: a ``(num_runs, num_tasks)`` matrix, or a mapping task -> 1-D array of per-run scores.
Scores = Mapping[Hashable, ArrayLike] | ArrayLike
#: A statistic of one (possibly resampled) set of scores: task -> 1-D float array -> a float.
Statistic = Callable[[dict[Hashable, np.ndarray]], float]

#: Fraction cut from each end by the interquartile mean.
_IQM_CUT = 0.25
#: Largest number of bools in one chunk of pairwise comparisons in the vectorized P(X > Y).
_PAIRS_PER_CHUNK = 1 << 22
#: Minimum detectable effect in paired standard errors: z(0.975) + z(0.80) = 1.96 + 0.84, the true
#: difference that a two-sided test at the 5% level detects with 80% power.
MDE_FACTOR = 2.8
#: Bisection steps of :func:`t_quantile` (each halves an angle interval of width pi / 2).
_QUANTILE_STEPS = 100


class Summary(TypedDict):
    """One env's per-seed scores summarized by :func:`summarize`."""

    n: int
    mean: float
    iqm: float
    mean_ci: tuple[float, float]
    iqm_ci: tuple[float, float]


class PairedDifference(TypedDict):
    """Mean of per-pair differences ``x - y`` with its Student t interval, from :func:`paired_difference`."""

    n: int  # pairs (seeds)
    mean: float
    standard_error: float  # sample standard deviation (ddof=1) of the differences / sqrt(n)
    low: float
    high: float
    confidence: float


# --- validation ---------------------------------------------------------------------------------


def _as_finite_array(values: ArrayLike, name: str) -> np.ndarray:
    """``values`` as a float64 array; refuses non-numbers, empty arrays, NaN and inf."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be an array of numbers, got {reprlib.repr(values)}") from exc
    if array.size == 0:
        raise ConfigError(f"{name} must not be empty, got {reprlib.repr(values)} (shape {array.shape})")
    finite = np.isfinite(array)
    if not np.all(finite):
        index = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise ConfigError(
            f"{name} must be finite (no NaN or inf), got {array[index]} at index {index} "
            f"({int(np.count_nonzero(~finite))} of {array.size} values not finite)"
        )
    return array


def scores_by_task(scores: Scores, name: str = "scores") -> dict[Hashable, np.ndarray]:
    """Validated scores as a dict task -> 1-D float64 array of per-run scores (shape ``(num_runs_t,)``).

    A mapping keeps its keys and order; a matrix of shape ``(num_runs, num_tasks)`` becomes
    ``{0: scores[:, 0], 1: scores[:, 1], ...}``. Raises ConfigError for no tasks, an empty, non-1-D
    or non-finite task, or a matrix that is not 2-D.
    """
    if isinstance(scores, Mapping):
        if not scores:
            raise ConfigError(f"{name} must hold at least one task, got an empty mapping")
        result: dict[Hashable, np.ndarray] = {}
        for task, values in scores.items():
            array = _as_finite_array(values, f"{name}[{task!r}]")
            if array.ndim != 1:
                raise ConfigError(
                    f"{name}[{task!r}] must be a 1-D array of per-run scores, got shape {array.shape}"
                )
            result[task] = array
        return result
    matrix = _as_finite_array(scores, name)
    if matrix.ndim != 2:
        raise ConfigError(
            f"{name} must be a (num_runs, num_tasks) matrix or a mapping task -> per-run scores, "
            f"got an array of shape {matrix.shape}"
        )
    return {task: matrix[:, task].copy() for task in range(matrix.shape[1])}


def _check_bootstrap_args(reps: object, confidence: object, seed: object) -> None:
    if isinstance(reps, bool) or not isinstance(reps, numbers.Integral) or reps < 1:
        raise ConfigError(f"reps must be an integer >= 1 (bootstrap replicates), got {reps!r}")
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, numbers.Real)
        or not 0.0 < float(confidence) < 1.0
    ):
        raise ConfigError(f"confidence must be a number strictly between 0 and 1, got {confidence!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ConfigError(f"seed must be an integer >= 0, got {seed!r}")


# --- point estimates ----------------------------------------------------------------------------


def _trim_mean(array: np.ndarray, axis: int) -> np.ndarray:
    """Mean along ``axis`` after cutting ``int(0.25 * n)`` sorted values from each end (no checks)."""
    n = array.shape[axis]
    cut = int(_IQM_CUT * n)
    middle = np.take(np.sort(array, axis=axis), np.arange(cut, n - cut), axis=axis)
    return np.asarray(np.mean(middle, axis=axis))


def iqm(values: ArrayLike, axis: int | None = None) -> float | np.ndarray:
    """Interquartile mean: the mean of the middle 50% of ``values``.

    Sorts, cuts ``int(0.25 * n)`` values from each end and averages the rest, exactly as
    ``scipy.stats.trim_mean(values, 0.25, axis)`` (so 1 to 3 values are simply averaged).

    Args:
        values: scores of any shape (units kept: the IQM has the units of the values).
        axis: axis to reduce; None (default) pools all values.

    Returns:
        A float for ``axis=None``, else an array with ``axis`` removed.
    """
    array = _as_finite_array(values, "values")
    if axis is None:
        return float(_trim_mean(array.ravel(), axis=0))
    if (
        isinstance(axis, bool)
        or not isinstance(axis, numbers.Integral)
        or not -array.ndim <= axis < array.ndim
    ):
        raise ConfigError(f"axis must be None or an integer in [-{array.ndim}, {array.ndim}), got {axis!r}")
    return _trim_mean(array, axis=int(axis))


def aggregate_iqm(scores: Scores) -> float:
    """IQM of all runs x tasks pooled (rliable's aggregate IQM): one float.

    Every run of every task counts once, so a task with more runs weighs more.
    """
    tasks = scores_by_task(scores)
    return float(_trim_mean(np.concatenate(list(tasks.values())), axis=0))


def aggregate_mean(scores: Scores) -> float:
    """Mean over tasks of each task's mean over runs: one float, every task weighing the same."""
    tasks = scores_by_task(scores)
    return float(np.mean([np.mean(values) for values in tasks.values()]))


def _pairwise_improvement(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(x > y) + 0.5 P(x == y) over all pairs of the last axes; leading (replicate) axes kept.

    ``x`` has shape ``(..., n)``, ``y`` shape ``(..., m)`` with the same leading shape.
    """
    greater = x[..., :, None] > y[..., None, :]
    equal = x[..., :, None] == y[..., None, :]
    return np.asarray(
        (greater.sum(axis=(-2, -1)) + 0.5 * equal.sum(axis=(-2, -1))) / (x.shape[-1] * y.shape[-1])
    )


def _shared_tasks(x: dict[Hashable, np.ndarray], y: dict[Hashable, np.ndarray]) -> list[Hashable]:
    shared = [task for task in x if task in y]
    if not shared:
        raise ConfigError(
            f"x and y share no task: x has tasks {list(x)!r}, y has tasks {list(y)!r}; "
            "the probability of improvement compares runs of the same task"
        )
    return shared


def probability_of_improvement(x_by_task: Scores, y_by_task: Scores) -> float:
    """rliable's probability of improvement P(X > Y), in [0, 1].

    For each task present in both ``x_by_task`` and ``y_by_task``, the Mann-Whitney statistic
    ``P(x > y) + 0.5 P(x == y)`` over all ``num_runs_x * num_runs_y`` pairs of runs (a run of X
    against a run of Y); then the mean over those tasks. Tasks in only one of them are ignored; none
    shared raises ConfigError. 0.5 means neither is better.
    """
    x = scores_by_task(x_by_task, "x_by_task")
    y = scores_by_task(y_by_task, "y_by_task")
    shared = _shared_tasks(x, y)
    return float(np.mean([_pairwise_improvement(x[task], y[task]) for task in shared]))


# --- stratified bootstrap -----------------------------------------------------------------------


def _resample(
    tasks: dict[Hashable, np.ndarray], reps: int, rng: np.random.Generator
) -> dict[Hashable, np.ndarray]:
    """Stratified bootstrap samples: task -> array of shape ``(reps, num_runs_t)``.

    Row ``r`` of a task holds that task's runs drawn with replacement for replicate ``r``; each task
    keeps its own number of runs and is drawn independently, in the mapping's order.
    """
    return {
        task: values[rng.integers(0, values.shape[0], size=(reps, values.shape[0]))]
        for task, values in tasks.items()
    }


def _aggregate_iqm_replicates(samples: dict[Hashable, np.ndarray]) -> np.ndarray:
    return _trim_mean(np.concatenate(list(samples.values()), axis=1), axis=1)


def _aggregate_mean_replicates(samples: dict[Hashable, np.ndarray]) -> np.ndarray:
    return np.asarray(np.mean(np.stack([values.mean(axis=1) for values in samples.values()], axis=1), axis=1))


#: This module's statistics computed for all replicates at once (same values as one call per replicate).
_VECTORIZED: tuple[tuple[Callable[..., float], Callable[[dict[Hashable, np.ndarray]], np.ndarray]], ...] = (
    (aggregate_iqm, _aggregate_iqm_replicates),
    (aggregate_mean, _aggregate_mean_replicates),
)


def _percentile_interval(replicates: np.ndarray, confidence: float, what: str) -> tuple[float, float]:
    """Percentile interval: the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles."""
    if not np.all(np.isfinite(replicates)):
        raise ConfigError(f"{what} returned a non-finite value on a bootstrap replicate")
    alpha = 1.0 - confidence
    low, high = np.percentile(replicates, [100.0 * alpha / 2.0, 100.0 * (1.0 - alpha / 2.0)])
    return float(low), float(high)


def stratified_bootstrap_ci(
    scores: Scores,
    statistic: Statistic,
    *,
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval ``(low, high)`` of ``statistic`` (its units), stratified by task.

    Each of ``reps`` replicates resamples the runs of every task independently with replacement,
    keeping each task's number of runs, and applies ``statistic`` to the resampled dict task -> 1-D
    array. The interval is the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of the
    replicates (numpy's linear interpolation). Deterministic for a ``seed``: the resampling indices
    are drawn from ``np.random.default_rng(seed)``, one ``(reps, num_runs_t)`` matrix per task in
    the mapping's order.

    :func:`aggregate_iqm` and :func:`aggregate_mean` are evaluated on all replicates at once; any
    other ``statistic`` is called once per replicate. Memory: ``reps`` x total runs floats.
    """
    _check_bootstrap_args(reps, confidence, seed)
    tasks = scores_by_task(scores)
    if not callable(statistic):
        raise ConfigError(f"statistic must be a function of a dict task -> scores, got {statistic!r}")
    samples = _resample(tasks, int(reps), np.random.default_rng(int(seed)))
    # Identity, not a dict lookup: a callable object need not be hashable.
    vectorized = next((fast for slow, fast in _VECTORIZED if slow is statistic), None)
    if vectorized is not None:
        replicates = vectorized(samples)
    else:
        replicates = np.array(
            [statistic({task: values[r] for task, values in samples.items()}) for r in range(int(reps))],
            dtype=np.float64,
        )
    name = getattr(statistic, "__name__", repr(statistic))
    return _percentile_interval(replicates, float(confidence), f"statistic {name}")


def summarize(values: ArrayLike, *, reps: int = 2000, confidence: float = 0.95, seed: int = 0) -> Summary:
    """Mean and IQM of one env's per-seed scores with bootstrap intervals over seeds.

    Args:
        values: 1-D per-seed scores of one env, shape ``(num_seeds,)``.
        reps, confidence, seed: as in :func:`stratified_bootstrap_ci`; the mean and IQM intervals
            are computed from the same resampled seeds.

    Returns:
        ``{"n", "mean", "iqm", "mean_ci": (low, high), "iqm_ci": (low, high)}``, in the units of values.
    """
    _check_bootstrap_args(reps, confidence, seed)
    array = scores_by_task({"values": values}, name="summarize")["values"]
    samples = _resample({"values": array}, int(reps), np.random.default_rng(int(seed)))["values"]
    return Summary(
        n=int(array.shape[0]),
        mean=float(np.mean(array)),
        iqm=float(_trim_mean(array, axis=0)),
        mean_ci=_percentile_interval(samples.mean(axis=1), float(confidence), "mean"),
        iqm_ci=_percentile_interval(_trim_mean(samples, axis=1), float(confidence), "iqm"),
    )


def probability_of_improvement_ci(
    x_by_task: Scores,
    y_by_task: Scores,
    *,
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval ``(low, high)`` of :func:`probability_of_improvement`.

    As rliable's stratified independent bootstrap: in each replicate the runs of X and the runs of Y
    are resampled with replacement within each shared task, independently of each other. Indices are
    drawn from ``np.random.default_rng(seed)``: X's shared tasks first, then Y's, in X's task order.
    """
    _check_bootstrap_args(reps, confidence, seed)
    x = scores_by_task(x_by_task, "x_by_task")
    y = scores_by_task(y_by_task, "y_by_task")
    shared = _shared_tasks(x, y)
    rng = np.random.default_rng(int(seed))
    x_samples = _resample({task: x[task] for task in shared}, int(reps), rng)
    y_samples = _resample({task: y[task] for task in shared}, int(reps), rng)
    per_task = np.empty((int(reps), len(shared)))
    for column, task in enumerate(shared):
        # Chunks of replicates bound the (chunk, num_runs_x, num_runs_y) comparison arrays.
        pairs = x[task].shape[0] * y[task].shape[0]
        chunk = max(1, _PAIRS_PER_CHUNK // pairs)
        for start in range(0, int(reps), chunk):
            stop = min(start + chunk, int(reps))
            per_task[start:stop, column] = _pairwise_improvement(
                x_samples[task][start:stop], y_samples[task][start:stop]
            )
    return _percentile_interval(per_task.mean(axis=1), float(confidence), "probability_of_improvement")


# --- paired differences -------------------------------------------------------------------------


def _t_central_probability(theta: float, df: int) -> float:
    """P(|T| < t) for Student's t with ``df`` degrees of freedom, where ``theta = atan(t / sqrt(df))``.

    The finite series of Abramowitz and Stegun 26.7.3 (odd ``df``) and 26.7.4 (even ``df``): exact
    for integer ``df``, so no scipy is needed. Both sum ``c_j cos(theta)^j`` for ``j`` up to
    ``df - 2`` in steps of 2, with ``c_(j+2) = c_j (j + 1) / (j + 2)``.
    """
    cos, sin = math.cos(theta), math.sin(theta)
    odd = df % 2 == 1
    power, term, total = (1, cos, 0.0) if odd else (0, 1.0, 0.0)
    while power <= df - 2:
        total += term
        term *= (power + 1) / (power + 2) * cos * cos
        power += 2
    return 2.0 / math.pi * (theta + sin * total) if odd else sin * total


def t_quantile(probability: float, df: int) -> float:
    """The ``probability`` quantile of Student's t with ``df`` (an integer >= 1) degrees of freedom,
    for ``probability`` in [0.5, 1); e.g. ``t_quantile(0.975, 4) = 2.7764...``. Exact to about 1e-12
    (bisection on the series of :func:`_t_central_probability`)."""
    if isinstance(df, bool) or not isinstance(df, numbers.Integral) or df < 1:
        raise ConfigError(f"df must be an integer >= 1 (degrees of freedom), got {df!r}")
    if (
        isinstance(probability, bool)
        or not isinstance(probability, numbers.Real)
        or not 0.5 <= float(probability) < 1.0
    ):
        raise ConfigError(f"probability must be a number in [0.5, 1), got {probability!r}")
    target = 2.0 * float(probability) - 1.0  # P(|T| < t)
    low, high = 0.0, math.pi / 2.0
    for _ in range(_QUANTILE_STEPS):
        middle = (low + high) / 2.0
        if _t_central_probability(middle, int(df)) < target:
            low = middle
        else:
            high = middle
    return math.sqrt(int(df)) * math.tan((low + high) / 2.0)


def paired_difference(x: ArrayLike, y: ArrayLike, *, confidence: float = 0.95) -> PairedDifference:
    """Mean of the per-pair differences ``x[i] - y[i]`` with a two-sided Student t interval.

    Pair ``i`` is one seed: the same student under both teachers, so the differences cancel the
    student-to-student noise that separate means would carry. The interval is
    ``mean +- t_quantile((1 + confidence) / 2, n - 1) * sd(differences, ddof=1) / sqrt(n)``.

    Args:
        x, y: 1-D per-seed values of the same length ``n >= 2``, aligned by seed (units kept).
        confidence: in (0, 1).

    Returns:
        ``{"n", "mean", "standard_error", "low", "high", "confidence"}`` in the units of the values.
    """
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, numbers.Real)
        or not 0.0 < float(confidence) < 1.0
    ):
        raise ConfigError(f"confidence must be a number strictly between 0 and 1, got {confidence!r}")
    first = _as_finite_array(x, "x")
    second = _as_finite_array(y, "y")
    if first.ndim != 1 or first.shape != second.shape:
        raise ConfigError(
            f"x and y must be 1-D arrays of the same length (one value per seed), got shapes "
            f"{first.shape} and {second.shape}"
        )
    n = int(first.shape[0])
    if n < 2:
        raise ConfigError(f"a paired interval needs at least 2 pairs (seeds), got {n}")
    differences = first - second
    mean = float(np.mean(differences))
    standard_error = float(np.std(differences, ddof=1) / math.sqrt(n))
    half = t_quantile((1.0 + float(confidence)) / 2.0, n - 1) * standard_error
    return PairedDifference(
        n=n,
        mean=mean,
        standard_error=standard_error,
        low=mean - half,
        high=mean + half,
        confidence=float(confidence),
    )


def minimum_detectable_effect(standard_errors: ArrayLike) -> float:
    """A task's minimum detectable effect: :data:`MDE_FACTOR` x the median of paired standard errors
    (units of the values, e.g. test accuracy).

    The median over the task's teachers of each one's paired standard error against the baseline: a
    typical teacher's detectable difference, which one unusually noisy teacher (e.g. ``random``)
    does not set, as the maximum would.
    """
    errors = _as_finite_array(standard_errors, "standard_errors")
    if errors.ndim != 1 or np.any(errors < 0):
        raise ConfigError(f"standard_errors must be a 1-D array of values >= 0, got {reprlib.repr(errors)}")
    return MDE_FACTOR * float(np.median(errors))


__all__ = [
    "MDE_FACTOR",
    "PairedDifference",
    "Scores",
    "Statistic",
    "Summary",
    "aggregate_iqm",
    "aggregate_mean",
    "iqm",
    "minimum_detectable_effect",
    "paired_difference",
    "probability_of_improvement",
    "probability_of_improvement_ci",
    "scores_by_task",
    "stratified_bootstrap_ci",
    "summarize",
    "t_quantile",
]
