"""Bayesian Knowledge Tracing: the forward update by hand, the sampler, and EM recovering known parameters."""

from __future__ import annotations

import numpy as np
import pytest

from teachgym import tracing
from teachgym.errors import ConfigError
from teachgym.tracing import BKTParams

PARAMS = BKTParams(prior=0.2, learn=0.15, guess=0.2, slip=0.1)


def test_forward_update_matches_a_hand_computation() -> None:
    # Correct answer: P(L | correct) = 0.2 * 0.9 / (0.2 * 0.9 + 0.8 * 0.2) = 0.18 / 0.34; then learning:
    # 0.18/0.34 + (1 - 0.18/0.34) * 0.15 = 0.6 exactly.
    assert tracing.posterior(0.2, True, PARAMS) == pytest.approx(0.18 / 0.34)
    assert tracing.update(0.2, True, PARAMS) == pytest.approx(0.6)
    # Wrong answer: 0.2 * 0.1 / (0.2 * 0.1 + 0.8 * 0.8) = 0.02 / 0.66; then + (1 - that) * 0.15.
    wrong = 0.02 / 0.66
    assert tracing.update(0.2, False, PARAMS) == pytest.approx(wrong + (1 - wrong) * 0.15)
    # Prediction: P(L) (1 - slip) + (1 - P(L)) guess = 0.6 * 0.9 + 0.4 * 0.2.
    assert tracing.predict_correct(0.6, PARAMS) == pytest.approx(0.62)
    # Vectorized, and trace() chains the updates.
    np.testing.assert_allclose(
        tracing.update(np.array([0.2, 0.2]), np.array([1, 0]), PARAMS), [0.6, wrong + (1 - wrong) * 0.15]
    )
    known = tracing.trace([1, 1, 1], PARAMS)
    assert known[0] == 0.2 and known[1] == pytest.approx(0.6)
    assert np.all(np.diff(known) > 0) and known[-1] > 0.95  # three correct answers: mastered


def test_sampler_follows_its_parameters() -> None:
    params = BKTParams(prior=0.3, learn=0.2, guess=0.25, slip=0.1)
    responses, known = tracing.simulate(params, 20_000, 6, np.random.default_rng(0))
    assert responses.shape == known.shape == (20_000, 6)
    assert known[:, 0].mean() == pytest.approx(0.3, abs=0.015)
    assert np.all(known[:, 1:] >= known[:, :-1])  # no forgetting
    learned = (~known[:, :-1]) & known[:, 1:]
    assert learned.sum() / (~known[:, :-1]).sum() == pytest.approx(0.2, abs=0.01)
    assert responses[~known].mean() == pytest.approx(0.25, abs=0.01)
    assert 1 - responses[known].mean() == pytest.approx(0.1, abs=0.01)


@pytest.mark.parametrize(
    "true",
    [
        BKTParams(prior=0.3, learn=0.15, guess=0.2, slip=0.1),
        BKTParams(prior=0.1, learn=0.3, guess=0.15, slip=0.05),
        BKTParams(prior=0.5, learn=0.08, guess=0.28, slip=0.2),
    ],
    ids=str,
)
def test_em_recovers_known_parameters(true: BKTParams) -> None:
    """3000 simulated learners of 3 to 12 answers each; EM from a distant start finds the truth."""
    rng = np.random.default_rng(1)
    responses, _ = tracing.simulate(true, 3000, 12, rng)
    sequences = [row[: rng.integers(3, 13)] for row in responses]
    fitted = tracing.fit(sequences, initial=BKTParams(prior=0.7, learn=0.4, guess=0.05, slip=0.25))
    assert fitted.converged
    np.testing.assert_allclose(fitted.params.as_tuple(), true.as_tuple(), atol=0.03)
    # At least as likely as the truth (it is the maximum-likelihood estimate).
    assert fitted.log_likelihood >= tracing.log_likelihood(sequences, true)


def test_log_likelihood_is_the_product_of_the_forward_predictions() -> None:
    rng = np.random.default_rng(2)
    responses, _ = tracing.simulate(PARAMS, 40, 8, rng)
    sequences = [row[: 2 + n % 7] for n, row in enumerate(responses)]
    by_hand = 0.0
    for seq in sequences:
        p = tracing.predict_correct(tracing.trace(seq, PARAMS)[:-1], PARAMS)
        by_hand += float(np.log(np.where(seq == 1, p, 1 - p)).sum())
    assert tracing.log_likelihood(sequences, PARAMS) == pytest.approx(by_hand)


def test_em_never_lowers_the_likelihood() -> None:
    responses, _ = tracing.simulate(PARAMS, 500, 10, np.random.default_rng(3))
    start = BKTParams(prior=0.6, learn=0.05, guess=0.3, slip=0.3)
    values = [
        tracing.fit(list(responses), initial=start, max_iterations=n, tolerance=0.0).log_likelihood
        for n in (1, 2, 3, 5, 10, 30)
    ]
    assert np.all(np.diff(values) >= -1e-9)


def test_guess_and_slip_stay_within_their_bounds() -> None:
    """Data from a learner who guesses 45% of the time: the fitted guess stops at its bound."""
    heavy = BKTParams(prior=0.2, learn=0.1, guess=0.45, slip=0.1)
    responses, _ = tracing.simulate(heavy, 2000, 8, np.random.default_rng(4))
    fitted = tracing.fit(list(responses))
    assert fitted.params.guess <= 0.3 and fitted.params.slip <= 0.3
    tight = tracing.fit(list(responses), max_guess=0.2, max_slip=0.05)
    assert tight.params.guess <= 0.2 and tight.params.slip <= 0.05


def test_restarts_and_skills() -> None:
    responses, _ = tracing.simulate(PARAMS, 300, 8, np.random.default_rng(5))
    one = tracing.fit(list(responses))
    several = tracing.fit(list(responses), num_restarts=3, seed=1)
    assert several.log_likelihood >= one.log_likelihood - 1e-6
    fits = tracing.fit_skills({"addition": list(responses), "counting": list(responses[:100])})
    assert set(fits) == {"addition", "counting"}
    assert fits["addition"].params == one.params


@pytest.mark.parametrize(
    ("sequences", "message"),
    [
        ([], "at least one"),
        ([[1, 0], []], "non-empty"),
        ([[1, 2]], "0/1"),
        ([[[1, 0]]], "1-D"),
    ],
)
def test_bad_logs_are_refused(sequences: list, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        tracing.fit(sequences)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ConfigError, match="guess \\+ slip"):
        BKTParams(guess=0.6, slip=0.5)
    with pytest.raises(ConfigError, match=r"learn=1\.5"):
        BKTParams(learn=1.5)
    with pytest.raises(ConfigError, match="max_guess"):
        tracing.fit([[1, 0]], max_guess=0.9)


def test_trace_refuses_responses_other_than_0_and_1() -> None:
    with pytest.raises(ConfigError, match="0/1 responses"):
        tracing.trace([1, 2, 0], BKTParams())
    assert tracing.trace([], BKTParams()).tolist() == [BKTParams().prior]
