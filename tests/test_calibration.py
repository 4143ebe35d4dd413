"""The calibration rules (BENCHMARK.md), checked on hand-made episodes where the answer is known."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from teachgym.bench.calibration import MIN_EFFECT, check, table


def _episodes(task: str, means: dict[str, float], num_seeds: int = 40, noise: float = 0.02) -> list[dict]:
    """Per teacher, accuracies ``mean + student effect + noise``: the student effect is shared by every
    teacher on a seed (common random numbers), so pairs are much tighter than the spread."""
    rng = np.random.default_rng(0)
    student = rng.normal(0, 0.1, num_seeds)
    episodes: list[dict[str, Any]] = []
    for agent, mean in means.items():
        for seed in range(num_seeds):
            accuracy = float(mean + student[seed] + noise * rng.standard_normal())
            episodes.append(
                {"task": task, "agent": agent, "seed": seed, "status": "ok", "test_accuracy": accuracy}
            )
    return episodes


def test_a_task_where_teaching_matters_earns_its_place() -> None:
    episodes = _episodes("T", {"random": 0.50, "uniform": 0.55, "oracle": 0.70, "other": 0.60})
    [result] = check(episodes, {"T": "oracle"}, {})
    assert result.failures() == []
    assert result.best == "other"  # anchors (random, the reference) are not the best "other" teacher
    assert result.reference_vs_uniform.difference["mean"] == pytest.approx(0.15, abs=0.01)
    assert "earns its place" in table([result], "teachgym leaderboard X")


@pytest.mark.parametrize(
    ("means", "broken"),
    [
        ({"random": 0.50, "uniform": 0.51, "oracle": 0.70}, "uniform - random"),  # baseline too close
        ({"random": 0.50, "uniform": 0.55, "oracle": 0.56}, "oracle - uniform"),  # reference too close
        ({"random": 0.50, "uniform": 0.55, "oracle": 0.97}, "ceiling"),
        ({"random": 0.05, "uniform": 0.09, "oracle": 0.14}, "floor"),
    ],
)
def test_each_rule_fails_a_task_that_breaks_it(means: dict[str, float], broken: str) -> None:
    [result] = check(_episodes("T", means), {"T": "oracle"}, {})
    assert any(broken in failure for failure in result.failures()), result.failures()


def test_a_small_gain_with_a_tight_interval_is_not_enough() -> None:
    # Noise-free pairs: the interval excludes 0, but the gain is below MIN_EFFECT.
    means = {"random": 0.50, "uniform": 0.50 + MIN_EFFECT / 2, "oracle": 0.70}
    [result] = check(_episodes("T", means, noise=0.0005), {"T": "oracle"}, {})
    assert result.baseline_vs_random.difference["low"] > 0
    assert result.failures() == [f"uniform - random = {MIN_EFFECT / 2:+.3f} < {MIN_EFFECT}"]


def test_the_family_baseline_replaces_uniform_against_random() -> None:
    means = {"random": 0.50, "uniform": 0.51, "round-robin": 0.56, "oracle": 0.70}
    [result] = check(_episodes("T", means), {"T": "oracle"}, {"T": "round-robin"})
    assert result.failures() == [] and result.baseline == "round-robin"


def test_too_few_seeds_fail_on_the_minimum_detectable_effect() -> None:
    means = {"random": 0.50, "uniform": 0.56, "oracle": 0.70}
    [result] = check(_episodes("T", means, num_seeds=4, noise=0.05), {"T": "oracle"}, {})
    assert any("minimum detectable effect" in failure for failure in result.failures())
