"""Knowledge tracing that teachers share: Bayesian Knowledge Tracing (BKT) and its EM fit.

BKT (Corbett & Anderson 1994) models one skill of one learner as a two-state hidden Markov model: the
skill is *unknown* or *known*. A learner knows it at the start with probability ``prior`` (P(L0));
after every practice opportunity an unknown skill becomes known with probability ``learn`` (P(T)) and
is never forgotten; a response is correct with probability ``guess`` (P(G)) when the skill is
unknown and ``1 - slip`` (1 - P(S)) when it is known.

Here: the forward update of P(L) given a response (:func:`update`), the prediction of a correct
response (:func:`predict_correct`), a sampler of response sequences from known parameters
(:func:`simulate`), and the fit of the four parameters from response logs by expectation-maximization
(Baum-Welch, as pyBKT does: Badrinath, Wang & Pardos 2021), with bounds on guess and slip
(:func:`fit`, :func:`fit_skills`), and the likelihood of response logs (:func:`log_likelihood`). All
functions are vectorized over learners with numpy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from teachgym.config import check_int, check_real, require

_OWNER = "BKT"
#: Smallest and largest value a fitted probability takes, so that logs and ratios stay finite.
_EPS = 1e-6


@dataclass(frozen=True)
class BKTParams:
    """The four parameters of BKT for one skill (probabilities).

    Attributes:
        prior: P(L0), the chance the skill is known before the first opportunity.
        learn: P(T), the chance an unknown skill becomes known after one opportunity.
        guess: P(G), the chance of a correct response while the skill is unknown.
        slip: P(S), the chance of a wrong response while the skill is known.

    The defaults are typical fitted values (P(G) about 0.1-0.3, P(S) about 0.05-0.2; Corbett &
    Anderson 1994, Baker et al. 2008). ``guess + slip < 1`` keeps "known" the state with more
    correct answers (otherwise the two states swap meaning).
    """

    prior: float = 0.2
    learn: float = 0.15
    guess: float = 0.2
    slip: float = 0.1

    def __post_init__(self) -> None:
        for name in ("prior", "learn", "guess", "slip"):
            check_real(_OWNER, name, getattr(self, name), 0.0, 1.0)
        require(
            self.guess + self.slip < 1.0,
            _OWNER,
            "guess + slip",
            self.guess + self.slip,
            "< 1 (a known skill must answer correctly more often than an unknown one)",
        )

    def as_tuple(self) -> tuple[float, float, float, float]:
        """``(prior, learn, guess, slip)``."""
        return (self.prior, self.learn, self.guess, self.slip)


def predict_correct(known: np.ndarray | float, params: BKTParams) -> np.ndarray:
    """P(correct) of the next response given P(L) ``known`` (any shape):
    ``P(L) (1 - P(S)) + (1 - P(L)) P(G)``."""
    known = np.asarray(known, dtype=np.float64)
    return known * (1.0 - params.slip) + (1.0 - known) * params.guess


def posterior(known: np.ndarray | float, correct: np.ndarray | bool, params: BKTParams) -> np.ndarray:
    """P(L) after observing a response (``correct`` True/1 or False/0, broadcast with ``known``), before
    the learning transition (Bayes' rule on the emission probabilities)."""
    known = np.asarray(known, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    if_known = np.where(correct, 1.0 - params.slip, params.slip)
    if_unknown = np.where(correct, params.guess, 1.0 - params.guess)
    evidence = known * if_known + (1.0 - known) * if_unknown
    return np.asarray(known * if_known / np.maximum(evidence, 1e-300))


def update(known: np.ndarray | float, correct: np.ndarray | bool, params: BKTParams) -> np.ndarray:
    """The forward update of BKT: P(L) before the next opportunity, given P(L) ``known`` before this
    one and its response: the posterior, then the learning transition
    ``P(L') = post + (1 - post) P(T)``."""
    after = posterior(known, correct, params)
    return np.asarray(after + (1.0 - after) * params.learn)


def trace(responses: Sequence[int] | np.ndarray, params: BKTParams) -> np.ndarray:
    """P(L) before each response of one sequence and after the last one, shape ``(T + 1,)``.
    ``responses`` must be 0/1 (as for :func:`fit`); an empty sequence gives just the prior."""
    array = np.asarray(responses)
    ok = array.ndim == 1 and bool(np.all((array == 0) | (array == 1)))
    require(ok, _OWNER, "responses", array.tolist(), "a 1-D sequence of 0/1 responses")
    known = np.empty(len(responses) + 1)
    known[0] = params.prior
    for t, correct in enumerate(responses):
        known[t + 1] = update(known[t], bool(correct), params)
    return known


def simulate(
    params: BKTParams, num_learners: int, num_steps: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Response sequences of ``num_learners`` BKT learners over ``num_steps`` opportunities.

    Returns:
        ``(responses, known)``: int64 ``(N, T)`` responses (1 correct) and bool ``(N, T)`` whether
        the skill was known at each response.
    """
    num_learners = check_int(_OWNER, "num_learners", num_learners, 1)
    num_steps = check_int(_OWNER, "num_steps", num_steps, 1)
    known = np.empty((num_learners, num_steps), dtype=bool)
    state = rng.random(num_learners) < params.prior
    for t in range(num_steps):
        known[:, t] = state
        state = state | (rng.random(num_learners) < params.learn)
    p_correct = np.where(known, 1.0 - params.slip, params.guess)
    responses = (rng.random((num_learners, num_steps)) < p_correct).astype(np.int64)
    return responses, known


@dataclass(frozen=True)
class BKTFit:
    """The result of :func:`fit`.

    Attributes:
        params: the fitted parameters.
        log_likelihood: log-likelihood of the data under them (nats).
        num_iterations: EM iterations run (of the best start).
        converged: whether the log-likelihood stopped improving by more than the tolerance.
    """

    params: BKTParams
    log_likelihood: float
    num_iterations: int
    converged: bool


def _padded(sequences: Sequence[Sequence[int] | np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Responses ``(N, T)`` padded at the end with zeros, and the mask of real responses."""
    require(len(sequences) > 0, _OWNER, "sequences", sequences, "at least one response sequence")
    arrays = [np.asarray(seq) for seq in sequences]
    for array in arrays:
        ok = array.ndim == 1 and array.size > 0 and np.all((array == 0) | (array == 1))
        require(bool(ok), _OWNER, "sequence", array.tolist(), "a non-empty 1-D sequence of 0/1 responses")
    length = max(array.size for array in arrays)
    responses = np.zeros((len(arrays), length), dtype=np.int64)
    mask = np.zeros((len(arrays), length), dtype=bool)
    for n, array in enumerate(arrays):
        responses[n, : array.size] = array
        mask[n, : array.size] = True
    return responses, mask


def log_likelihood(sequences: Sequence[Sequence[int] | np.ndarray], params: BKTParams) -> float:
    """Log-likelihood (nats) of response logs (one 0/1 sequence per learner) under ``params``."""
    return _e_step(params, *_padded(sequences))[0]


def _e_step(
    params: BKTParams, responses: np.ndarray, mask: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Scaled forward-backward over every learner at once.

    Returns the log-likelihood, ``gamma`` ``(N, T, 2)`` (posterior of unknown/known at each step)
    and ``learned`` ``(N, T)``: the posterior probability of the transition unknown -> known between
    step ``t`` and ``t + 1`` (0 where step ``t + 1`` is padding). Padding is at the end of a
    sequence and observes nothing (emission 1), which leaves the real steps' posteriors unchanged.
    """
    num_learners, num_steps = responses.shape
    prior, learn, guess, slip = params.as_tuple()
    transition = np.array([[1.0 - learn, learn], [0.0, 1.0]])
    correct = responses == 1
    emission = np.stack([np.where(correct, guess, 1.0 - guess), np.where(correct, 1.0 - slip, slip)], axis=-1)
    emission[~mask] = 1.0
    alpha = np.empty((num_learners, num_steps, 2))
    scale = np.empty((num_learners, num_steps))
    state = np.array([1.0 - prior, prior]) * emission[:, 0]
    for t in range(num_steps):
        if t:
            state = (alpha[:, t - 1] @ transition) * emission[:, t]
        scale[:, t] = np.maximum(state.sum(axis=1), 1e-300)
        alpha[:, t] = state / scale[:, t, None]
    beta = np.ones((num_learners, num_steps, 2))
    for t in range(num_steps - 2, -1, -1):
        beta[:, t] = (emission[:, t + 1] * beta[:, t + 1]) @ transition.T / scale[:, t + 1, None]
    gamma = alpha * beta
    gamma /= np.maximum(gamma.sum(axis=-1, keepdims=True), 1e-300)
    learned = np.zeros((num_learners, num_steps))
    learned[:, :-1] = (alpha[:, :-1, 0] * learn * emission[:, 1:, 1] * beta[:, 1:, 1] / scale[:, 1:]) * mask[
        :, 1:
    ]
    log_likelihood = float(np.log(scale[mask]).sum())
    return log_likelihood, gamma, learned


def _m_step(
    gamma: np.ndarray,
    learned: np.ndarray,
    responses: np.ndarray,
    mask: np.ndarray,
    max_guess: float,
    max_slip: float,
) -> BKTParams:
    """Expected-count estimates, each clipped to its bounds. The expected complete log-likelihood is
    a sum of one concave term per parameter, so clipping each estimate is the exact maximizer within
    the bounds and EM still never decreases the likelihood."""
    unknown, known = gamma[..., 0] * mask, gamma[..., 1] * mask
    correct = responses == 1
    has_next = np.zeros_like(mask)
    has_next[:, :-1] = mask[:, 1:]
    prior = gamma[:, 0, 1].mean()
    learn = learned.sum() / max((gamma[..., 0] * has_next).sum(), 1e-300)
    guess = (unknown * correct).sum() / max(unknown.sum(), 1e-300)
    slip = (known * ~correct).sum() / max(known.sum(), 1e-300)
    return BKTParams(
        prior=float(np.clip(prior, _EPS, 1 - _EPS)),
        learn=float(np.clip(learn, _EPS, 1 - _EPS)),
        guess=float(np.clip(guess, _EPS, max_guess)),
        slip=float(np.clip(slip, _EPS, max_slip)),
    )


def fit(
    sequences: Sequence[Sequence[int] | np.ndarray],
    *,
    initial: BKTParams | None = None,
    max_guess: float = 0.3,
    max_slip: float = 0.3,
    max_iterations: int = 200,
    tolerance: float = 1e-7,
    num_restarts: int = 0,
    seed: int = 0,
) -> BKTFit:
    """Fit P(L0), P(T), P(G), P(S) of one skill to response logs by EM (Baum-Welch).

    Args:
        sequences: one sequence of 0/1 responses per learner, in the order of practice (lengths may
            differ).
        initial: the starting point (default :class:`BKTParams`'s typical values, with guess and
            slip clipped to the bounds).
        max_guess, max_slip: upper bounds of P(G) and P(S), each in (0, 0.5]. Without them EM can
            settle on degenerate solutions where a wrong answer is more likely from a learner who
            knows the skill than from one who does not, or where "known" means little (the model
            degeneracy of Baker, Corbett & Aleven 2008). The defaults, 0.3 each, follow the issue;
            BKT-BruteForce (Baker et al. 2008) uses P(G) <= 0.3 and P(S) <= 0.1, and pyBKT draws its
            random starting points with P(G) < 0.4 and P(S) < 0.3 but does not bound the M-step.
        max_iterations: EM iterations per start, >= 1.
        tolerance: stop when the log-likelihood per response improves by less than this.
        num_restarts: additional random starts (uniform within the bounds, from ``seed``); the fit
            with the highest likelihood wins (EM finds a local maximum).
        seed: seed of the random starts.

    Raises:
        ConfigError: a sequence that is empty or holds other values than 0 and 1, or a bad argument.
    """
    max_guess = check_real(_OWNER, "max_guess", max_guess, 0.0, 0.5, low_open=True)
    max_slip = check_real(_OWNER, "max_slip", max_slip, 0.0, 0.5, low_open=True)
    max_iterations = check_int(_OWNER, "max_iterations", max_iterations, 1)
    tolerance = check_real(_OWNER, "tolerance", tolerance, 0.0)
    num_restarts = check_int(_OWNER, "num_restarts", num_restarts, 0)
    responses, mask = _padded(sequences)
    num_responses = int(mask.sum())
    base = initial or BKTParams()
    starts = [
        BKTParams(base.prior, base.learn, min(base.guess, max_guess), min(base.slip, max_slip)),
    ]
    rng = np.random.default_rng(seed)
    for _ in range(num_restarts):
        prior, learn, guess, slip = rng.uniform(_EPS, [1 - _EPS, 1 - _EPS, max_guess, max_slip])
        starts.append(BKTParams(float(prior), float(learn), float(guess), float(slip)))
    best: BKTFit | None = None
    for params in starts:
        previous = -np.inf
        converged = False
        iteration = 0
        for iteration in range(1, max_iterations + 1):  # noqa: B007 (the count is reported)
            log_likelihood, gamma, learned = _e_step(params, responses, mask)
            if (log_likelihood - previous) / num_responses < tolerance:
                converged = True
                break
            previous = log_likelihood
            params = _m_step(gamma, learned, responses, mask, max_guess, max_slip)
        else:
            log_likelihood = _e_step(params, responses, mask)[0]
        result = BKTFit(params, log_likelihood, iteration, converged)
        if best is None or result.log_likelihood > best.log_likelihood:
            best = result
    assert best is not None
    return best


def fit_skills(
    logs: Mapping[str, Sequence[Sequence[int] | np.ndarray]], **options: object
) -> dict[str, BKTFit]:
    """:func:`fit` for every skill of ``logs`` (skill -> one response sequence per learner), with the
    same keyword ``options``."""
    return {skill: fit(sequences, **options) for skill, sequences in logs.items()}  # type: ignore[arg-type]
