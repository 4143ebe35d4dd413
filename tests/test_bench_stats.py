"""teachgym.bench.stats: IQM, aggregates, stratified bootstrap, probability of improvement, and paired
differences with Student t intervals and the minimum detectable effect.

Expected values are worked out by hand in the comments; scipy, where installed, is a second check.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from teachgym.bench.stats import (
    MDE_FACTOR,
    aggregate_iqm,
    aggregate_mean,
    iqm,
    minimum_detectable_effect,
    paired_difference,
    probability_of_improvement,
    probability_of_improvement_ci,
    scores_by_task,
    stratified_bootstrap_ci,
    summarize,
    t_quantile,
)
from teachgym.errors import ConfigError


def hand_trim(values: list[float]) -> float:
    """IQM written out: sort, drop int(n / 4) from each end, average the rest."""
    ordered = sorted(values)
    cut = int(0.25 * len(ordered))
    middle = ordered[cut : len(ordered) - cut]
    return sum(middle) / len(middle)


def hand_improvement(x: list[float], y: list[float]) -> float:
    """P(x > y) + 0.5 P(x == y) by a double loop over all pairs."""
    wins = sum((1.0 if a > b else 0.5 if a == b else 0.0) for a in x for b in y)
    return wins / (len(x) * len(y))


# A 4-run x 2-task matrix; rows are runs (seeds), columns are tasks.
MATRIX = np.array([[0.0, 1.0], [0.2, 0.9], [0.4, 0.3], [0.1, 0.5]])


# --- iqm ----------------------------------------------------------------------------------------


def test_iqm_by_hand():
    # [1, 2, 3, 4]: cut int(0.25 * 4) = 1 from each end -> mean(2, 3) = 2.5
    assert iqm([1, 2, 3, 4]) == 2.5
    # 8 values: cut int(0.25 * 8) = 2 from each end -> mean(3, 4, 5, 6) = 4.5 (order does not matter)
    assert iqm([8, 1, 7, 2, 6, 3, 5, 4]) == 4.5
    # ... and an outlier in the cut part changes nothing: mean(3, 4, 5, 6) = 4.5
    assert iqm([1000, 1, 7, 2, 6, 3, 5, 4]) == 4.5
    # one value: int(0.25) = 0 cut -> 5
    assert iqm([5]) == 5.0
    # 3 values: int(0.75) = 0 cut -> plain mean (0 + 1 + 5) / 3 = 2
    assert iqm([0, 1, 5]) == 2.0
    # 5 values: int(1.25) = 1 cut -> mean(2, 3, 4) = 3
    assert iqm([10, 2, 3, 4, -10]) == 3.0
    # a matrix with axis=None pools all values:
    # sorted 0, .1, .2, .3, .4, .5, .9, 1 -> mean(.2, .3, .4, .5) = .35
    assert iqm(MATRIX) == pytest.approx(0.35)


def test_iqm_matches_hand_trim_for_every_size():
    rng = np.random.default_rng(0)
    for n in range(1, 14):
        values = rng.random(n).tolist()
        assert iqm(values) == pytest.approx(hand_trim(values), abs=1e-15), n


def test_iqm_along_axis():
    # column 0 sorted 0, .1, .2, .4 -> mean(.1, .2) = .15; column 1 sorted .3, .5, .9, 1 -> mean(.5, .9) = .7
    np.testing.assert_allclose(iqm(MATRIX, axis=0), [0.15, 0.7])
    # row 0 has 2 values: int(0.5) = 0 cut -> mean(0, 1) = .5, and so on
    np.testing.assert_allclose(iqm(MATRIX, axis=-1), [0.5, 0.55, 0.35, 0.3])


def test_iqm_equals_scipy_trim_mean():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    for n in (1, 2, 3, 4, 5, 7, 8, 10, 33):
        values = rng.random(n)
        assert iqm(values) == pytest.approx(stats.trim_mean(values, 0.25), abs=1e-15)
    matrix = rng.random((9, 4))
    np.testing.assert_allclose(iqm(matrix, axis=0), stats.trim_mean(matrix, 0.25, axis=0))


# --- aggregates ---------------------------------------------------------------------------------


def test_aggregate_iqm_pools_runs_and_tasks():
    # All 8 values of MATRIX pooled (see test_iqm_by_hand): .35, not the mean of per-task IQMs
    # (.15 + .7) / 2 = .425.
    assert aggregate_iqm(MATRIX) == pytest.approx(0.35)
    assert aggregate_iqm({"a": MATRIX[:, 0], "b": MATRIX[:, 1]}) == pytest.approx(0.35)
    # Uneven run counts: 3 + 5 = 8 values 1..8 pooled -> cut 2 each side -> mean(3, 4, 5, 6) = 4.5
    assert aggregate_iqm({"a": [1, 2, 3], "b": [4, 5, 6, 7, 8]}) == 4.5


def test_aggregate_mean_is_mean_of_task_means():
    # task means: (0 + .2 + .4 + .1) / 4 = .175 and (1 + .9 + .3 + .5) / 4 = .675 -> (.175 + .675) / 2 = .425
    assert aggregate_mean(MATRIX) == pytest.approx(0.425)
    # every task weighs the same whatever its run count: (mean(1, 2, 3) + mean(4..8)) / 2 = (2 + 6) / 2 = 4,
    # while the pooled mean would be 36 / 8 = 4.5
    assert aggregate_mean({"a": [1, 2, 3], "b": [4, 5, 6, 7, 8]}) == 4.0


def test_scores_by_task_matrix_columns():
    tasks = scores_by_task(MATRIX)
    assert list(tasks) == [0, 1]
    np.testing.assert_array_equal(tasks[1], [1.0, 0.9, 0.3, 0.5])
    assert all(values.dtype == np.float64 and values.ndim == 1 for values in tasks.values())


# --- probability of improvement -----------------------------------------------------------------


def test_probability_of_improvement_by_hand():
    # x = [1, 2], y = [0, 3]: 1 > 0 yes, 1 > 3 no, 2 > 0 yes, 2 > 3 no -> 2 / 4 = .5
    assert probability_of_improvement({"a": [1, 2]}, {"a": [0, 3]}) == 0.5
    # ties count half: x = [1, 1], y = [1, 0]: (tie .5) + 1 + (tie .5) + 1 = 3 / 4 = .75
    assert probability_of_improvement({"b": [1, 1]}, {"b": [1, 0]}) == 0.75
    # the mean over tasks: (.5 + .75) / 2 = .625
    x = {"a": [1, 2], "b": [1, 1]}
    y = {"a": [0, 3], "b": [1, 0]}
    assert probability_of_improvement(x, y) == 0.625
    # swapping the sides gives the complement: (.5 + .25) / 2 = .375 = 1 - .625
    assert probability_of_improvement(y, x) == 0.375
    # a task in only one side is ignored: still .625
    assert probability_of_improvement({**x, "only_x": [9]}, {**y, "only_y": [0]}) == 0.625


def test_probability_of_improvement_matches_double_loop_and_scipy():
    rng = np.random.default_rng(2)
    # rounded to one decimal so that ties occur; uneven run counts per side and per task
    x = {"a": rng.random(5).round(1), "b": rng.random(3).round(1)}
    y = {"a": rng.random(4).round(1), "b": rng.random(6).round(1)}
    per_task = [hand_improvement(x[task].tolist(), y[task].tolist()) for task in ("a", "b")]
    expected = (per_task[0] + per_task[1]) / 2
    assert probability_of_improvement(x, y) == pytest.approx(expected)
    stats = pytest.importorskip("scipy.stats")
    u = [stats.mannwhitneyu(x[t], y[t]).statistic / (len(x[t]) * len(y[t])) for t in ("a", "b")]
    assert probability_of_improvement(x, y) == pytest.approx(np.mean(u))


# --- stratified bootstrap -----------------------------------------------------------------------

SCORES = {"a": [0.1, 0.4, 0.35, 0.8, 0.5], "b": [0.9, 0.7, 0.75], "c": [0.2, 0.3, 0.0, 0.6, 0.45, 0.55]}


@pytest.mark.parametrize("statistic", [aggregate_iqm, aggregate_mean])
def test_ci_contains_point_estimate(statistic):
    low, high = stratified_bootstrap_ci(SCORES, statistic, reps=500, seed=3)
    assert low < statistic(SCORES) < high
    # every resampled value is a score, so the interval lies within [min, max] of all scores
    assert low >= 0.0 and high <= 0.9


@pytest.mark.parametrize("statistic", [aggregate_iqm, aggregate_mean, lambda tasks: float(tasks["a"].max())])
def test_constant_scores_give_zero_width_interval(statistic):
    assert stratified_bootstrap_ci({"a": [0.25] * 4, "b": [0.25] * 2}, statistic, reps=50) == (0.25, 0.25)


def test_ci_deterministic_for_a_seed():
    first = stratified_bootstrap_ci(SCORES, aggregate_iqm, reps=300, seed=7)
    assert stratified_bootstrap_ci(SCORES, aggregate_iqm, reps=300, seed=7) == first
    assert stratified_bootstrap_ci(SCORES, aggregate_iqm, reps=300, seed=8) != first


@pytest.mark.parametrize("statistic", [aggregate_iqm, aggregate_mean])
def test_vectorized_statistics_equal_one_call_per_replicate(statistic):
    # The module evaluates its own statistics on all replicates at once; a wrapper forces the
    # per-replicate path on the same indices (same seed), which must give the same interval.
    fast = stratified_bootstrap_ci(SCORES, statistic, reps=400, confidence=0.9, seed=11)
    slow = stratified_bootstrap_ci(SCORES, lambda tasks: statistic(tasks), reps=400, confidence=0.9, seed=11)
    np.testing.assert_allclose(fast, slow, rtol=1e-12)


def test_resampling_is_stratified_by_task():
    scores = {"a": [0.0, 1.0, 2.0], "b": [10.0, 11.0, 12.0, 13.0, 14.0]}
    seen: list[dict[str, np.ndarray]] = []

    def record(tasks):
        seen.append({task: values.copy() for task, values in tasks.items()})
        return 0.0

    assert stratified_bootstrap_ci(scores, record, reps=200, seed=0) == (0.0, 0.0)
    assert len(seen) == 200
    for replicate in seen:
        # each task keeps its own run count and draws only from its own runs
        assert {task: len(values) for task, values in replicate.items()} == {"a": 3, "b": 5}
        assert set(replicate["a"]) <= {0.0, 1.0, 2.0}
        assert set(replicate["b"]) <= {10.0, 11.0, 12.0, 13.0, 14.0}
    # with replacement: some replicate repeats a run; and not every replicate is the original sample
    assert any(len(set(replicate["b"])) < 5 for replicate in seen)
    assert any(sorted(replicate["a"]) != [0.0, 1.0, 2.0] for replicate in seen)


def test_ci_of_mean_approaches_normal_interval():
    # x = k / 99 for k = 0..99: mean .5; population variance (100^2 - 1) / 12 / 99^2 = 9999 / 117612
    # = .085017, std .29158; the bootstrap mean has standard error .29158 / sqrt(100) = .029158, so the
    # normal 95% interval is .5 -/+ 1.96 * .029158 = .5 -/+ .05715. The percentile quantiles of 20000
    # replicates have a Monte Carlo error of about .0006.
    x = np.arange(100) / 99
    half_width = 1.959964 * math.sqrt(9999 / 12) / 99 / 10
    assert half_width == pytest.approx(0.05715, abs=1e-5)
    low, high = stratified_bootstrap_ci({"x": x}, aggregate_mean, reps=20000, seed=0)
    assert low == pytest.approx(0.5 - half_width, abs=0.003)
    assert high == pytest.approx(0.5 + half_width, abs=0.003)
    # a 50% interval is narrower: .5 -/+ .6745 * .029158 = .5 -/+ .01967
    low50, high50 = stratified_bootstrap_ci({"x": x}, aggregate_mean, reps=20000, confidence=0.5, seed=0)
    assert (low50, high50) == pytest.approx((0.5 - 0.01967, 0.5 + 0.01967), abs=0.002)


# --- summarize ----------------------------------------------------------------------------------


def test_summarize_by_hand():
    summary = summarize([4, 1, 3, 2], reps=500, seed=0)
    # n = 4; mean (1 + 2 + 3 + 4) / 4 = 2.5; IQM mean(2, 3) = 2.5
    assert (summary["n"], summary["mean"], summary["iqm"]) == (4, 2.5, 2.5)
    for key in ("mean_ci", "iqm_ci"):
        low, high = summary[key]
        # a resampled mean or IQM lies within [min, max] = [1, 4] and the interval brackets 2.5
        assert 1.0 <= low < 2.5 < high <= 4.0, key
    assert summarize([4, 1, 3, 2], reps=500, seed=0) == summary


def test_summarize_constant_and_single_seed():
    summary = summarize([0.7, 0.7, 0.7], reps=100, seed=1)
    # zero width, at the point estimate (0.7 * 3 / 3 is 0.6999999999999998 in floating point)
    assert summary["mean_ci"] == summary["iqm_ci"] == (summary["mean"], summary["mean"])
    assert summary["mean"] == summary["iqm"] == pytest.approx(0.7, abs=1e-15)
    single = summarize([0.3], reps=10, seed=1)
    assert single == {"n": 1, "mean": 0.3, "iqm": 0.3, "mean_ci": (0.3, 0.3), "iqm_ci": (0.3, 0.3)}


# --- probability of improvement interval --------------------------------------------------------


def test_probability_of_improvement_ci():
    x = {"a": [0.5, 0.6, 0.4, 0.9], "b": [0.3, 0.8, 0.6]}
    y = {"a": [0.2, 0.5, 0.45], "b": [0.1, 0.7, 0.5, 0.65, 0.2]}
    point = probability_of_improvement(x, y)
    low, high = probability_of_improvement_ci(x, y, reps=1000, seed=0)
    assert 0.0 <= low < point < high <= 1.0
    assert probability_of_improvement_ci(x, y, reps=1000, seed=0) == (low, high)
    assert probability_of_improvement_ci(x, y, reps=1000, seed=1) != (low, high)
    # X above Y in every run of every task: every replicate is 1; all equal: every replicate is .5
    assert probability_of_improvement_ci({"a": [0.8, 0.9]}, {"a": [0.1, 0.2, 0.3]}, reps=50) == (1.0, 1.0)
    assert probability_of_improvement_ci({"a": [0.4] * 3}, {"a": [0.4] * 2}, reps=50) == (0.5, 0.5)


def test_probability_of_improvement_ci_chunks_agree(monkeypatch):
    # Chunking the pairwise comparisons over replicates must not change the result.
    from teachgym.bench import stats

    x = {"a": [0.5, 0.6, 0.4, 0.9], "b": [0.3, 0.8, 0.6]}
    y = {"a": [0.2, 0.5, 0.45], "b": [0.1, 0.7, 0.5, 0.65, 0.2]}
    whole = probability_of_improvement_ci(x, y, reps=300, seed=4)
    monkeypatch.setattr(stats, "_PAIRS_PER_CHUNK", 13)
    assert probability_of_improvement_ci(x, y, reps=300, seed=4) == whole


# --- bad input ----------------------------------------------------------------------------------


def _constant(tasks):
    return 0.0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: iqm([]), r"values must not be empty"),
        (lambda: iqm([1.0, float("nan")]), r"values must be finite.*nan"),
        (lambda: iqm([1.0, float("inf")]), r"values must be finite"),
        (lambda: iqm(["x", "y"]), r"values must be an array of numbers.*'x'"),
        (lambda: iqm(MATRIX, axis=2), r"axis must be None or an integer in \[-2, 2\), got 2"),
        (lambda: aggregate_iqm({}), r"scores must hold at least one task"),
        (lambda: aggregate_iqm({"a": [0.1], "b": []}), r"scores\['b'\] must not be empty"),
        (lambda: aggregate_iqm({"a": [[0.1, 0.2]]}), r"scores\['a'\] must be a 1-D array.*\(1, 2\)"),
        (lambda: aggregate_mean({"a": [0.1, float("nan")]}), r"scores\['a'\] must be finite"),
        (lambda: aggregate_iqm([0.1, 0.2]), r"\(num_runs, num_tasks\) matrix.*\(2,\)"),
        (lambda: aggregate_mean(np.zeros((0, 3))), r"scores must not be empty"),
        (lambda: stratified_bootstrap_ci(SCORES, aggregate_iqm, confidence=1.0), r"confidence.*got 1.0"),
        (lambda: stratified_bootstrap_ci(SCORES, aggregate_iqm, confidence=0), r"confidence.*got 0"),
        (lambda: stratified_bootstrap_ci(SCORES, aggregate_iqm, confidence=95), r"confidence.*got 95"),
        (lambda: stratified_bootstrap_ci(SCORES, aggregate_iqm, confidence=float("nan")), r"confidence.*nan"),
        (lambda: stratified_bootstrap_ci(SCORES, aggregate_iqm, reps=0), r"reps must be .*>= 1.*got 0"),
        (lambda: stratified_bootstrap_ci(SCORES, aggregate_iqm, reps=2.5), r"reps.*got 2.5"),
        (lambda: stratified_bootstrap_ci(SCORES, aggregate_iqm, seed=None), r"seed must be an integer.*None"),
        (lambda: stratified_bootstrap_ci(SCORES, aggregate_iqm, seed=-1), r"seed.*got -1"),
        (lambda: stratified_bootstrap_ci(SCORES, "iqm"), r"statistic must be a function.*'iqm'"),
        (lambda: stratified_bootstrap_ci({"a": []}, _constant), r"scores\['a'\] must not be empty"),
        (lambda: stratified_bootstrap_ci(SCORES, lambda t: float("nan"), reps=5), r"non-finite"),
        (lambda: summarize([], reps=10, seed=0), r"summarize\['values'\] must not be empty"),
        (lambda: summarize([[0.1, 0.2]], reps=10, seed=0), r"must be a 1-D array"),
        (lambda: summarize([0.1, float("nan")], reps=10, seed=0), r"must be finite"),
        (lambda: summarize([0.1], reps=0, seed=0), r"reps.*got 0"),
        (lambda: probability_of_improvement({"a": [1.0]}, {"b": [1.0]}), r"share no task.*'a'.*'b'"),
        (lambda: probability_of_improvement({"a": []}, {"a": [1.0]}), r"x_by_task\['a'\] must not be empty"),
        (lambda: probability_of_improvement({"a": [1.0]}, {"a": [np.nan]}), r"y_by_task\['a'\] .*finite"),
        (lambda: probability_of_improvement_ci({"a": [1.0]}, {"b": [1.0]}), r"share no task"),
        (lambda: probability_of_improvement_ci({"a": [1.0]}, {"a": [1.0]}, confidence=-0.5), r"confidence"),
        (lambda: paired_difference([0.1], [0.2]), r"at least 2 pairs \(seeds\), got 1"),
        (lambda: paired_difference([0.1, 0.2], [0.2]), r"same length.*\(2,\) and \(1,\)"),
        (lambda: paired_difference([0.1, np.inf], [0.2, 0.3]), r"x must be finite"),
        (lambda: paired_difference([0.1, 0.2], [0.2, 0.3], confidence=1), r"confidence.*got 1"),
        (lambda: t_quantile(0.975, 0), r"df must be an integer >= 1.*got 0"),
        (lambda: t_quantile(0.975, 2.5), r"df.*got 2.5"),
        (lambda: t_quantile(1.0, 3), r"probability must be a number in \[0.5, 1\), got 1.0"),
        (lambda: minimum_detectable_effect([]), r"standard_errors must not be empty"),
        (lambda: minimum_detectable_effect([0.1, -0.1]), r"values >= 0"),
    ],
)
def test_bad_input_refused(call, match):
    with pytest.raises(ConfigError, match=match):
        call()


def test_config_error_is_a_value_error():
    with pytest.raises(ValueError):
        iqm([])


# --- paired differences ---------------------------------------------------------------------------

#: Student t quantiles from a printed table (two-sided 95% and 99%, one-sided 80%).
T_TABLE = [
    (0.975, 1, 12.706205),
    (0.975, 2, 4.302653),
    (0.975, 3, 3.182446),
    (0.975, 4, 2.776445),
    (0.975, 9, 2.262157),
    (0.975, 29, 2.045230),
    (0.995, 7, 3.499483),
    (0.8, 29, 0.854192),
]


@pytest.mark.parametrize(("probability", "df", "expected"), T_TABLE)
def test_t_quantile_matches_the_table(probability, df, expected):
    assert t_quantile(probability, df) == pytest.approx(expected, abs=1e-6)


def test_t_quantile_matches_scipy_and_approaches_the_normal():
    assert t_quantile(0.5, 5) == pytest.approx(0.0, abs=1e-12)
    assert t_quantile(0.975, 100_000) == pytest.approx(1.959964, abs=1e-4)
    scipy_stats = pytest.importorskip("scipy.stats")
    for df in range(1, 60):
        for probability in (0.6, 0.9, 0.975, 0.999):
            expected = scipy_stats.t.ppf(probability, df)
            assert t_quantile(probability, df) == pytest.approx(expected, rel=1e-9), (probability, df)


def test_paired_difference_by_hand():
    x, y = [0.5, 0.6, 0.7, 0.8], [0.4, 0.55, 0.6, 0.75]
    # Differences 0.1, 0.05, 0.1, 0.05: mean 0.075; sample sd sqrt(4 * 0.025^2 / 3); standard error
    # sd / sqrt(4); the interval is mean +- t(0.975, 3) x standard error = 0.075 +- 0.0459347.
    standard_error = math.sqrt(4 * 0.025**2 / 3) / 2
    result = paired_difference(x, y)
    assert result["n"] == 4 and result["confidence"] == 0.95
    assert result["mean"] == pytest.approx(0.075)
    assert result["standard_error"] == pytest.approx(standard_error)
    assert (result["low"], result["high"]) == pytest.approx((0.0290653, 0.1209347), abs=1e-7)
    # y - x mirrors it; identical values give a zero-width interval at 0.
    mirrored = paired_difference(y, x)
    assert (mirrored["low"], mirrored["high"]) == pytest.approx((-0.1209347, -0.0290653), abs=1e-7)
    same = paired_difference(x, x)
    assert (same["mean"], same["low"], same["high"]) == (0.0, 0.0, 0.0)


def test_pairing_removes_the_students_shared_noise():
    # Students differ a lot (+-0.2); the teacher adds 0.02 +- 0.005 to each: the paired interval
    # excludes 0, while the difference of two means, with the students' spread, could not.
    rng = np.random.default_rng(0)
    student = rng.normal(0.6, 0.2, size=30)
    teacher = student + 0.02 + rng.normal(0, 0.005, size=30)
    paired = paired_difference(teacher, student)
    assert paired["low"] > 0.0
    unpaired_half = 2.0 * math.sqrt(np.var(teacher, ddof=1) / 30 + np.var(student, ddof=1) / 30)
    assert unpaired_half > 0.02 > paired["high"] - paired["mean"]


def test_minimum_detectable_effect_is_2_8_times_the_median_standard_error():
    assert MDE_FACTOR == 2.8
    assert minimum_detectable_effect([0.01, 0.03, 0.02]) == pytest.approx(2.8 * 0.02)
    assert minimum_detectable_effect([0.01, 0.03]) == pytest.approx(2.8 * 0.02)  # median of two
    # One noisy teacher does not set the task's MDE (the median, not the maximum).
    assert minimum_detectable_effect([0.01, 0.01, 0.5]) == pytest.approx(0.028)
