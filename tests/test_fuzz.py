"""Fuzzing every registered id's ``step`` with actions inside and far outside its action space.

The promises under test (DESIGN.md, "Contracts users rely on"; issue 9):

- every ``step`` either steps normally (a 5-tuple whose observation is in the observation space) or
  raises ``InvalidActionError`` (a ``ValueError``) with a one-line message; no other exception escapes.
  For the text family only the *structure* is refused (not a sequence of pairs, too many pairs);
  pairs with bad content are dropped and counted in ``info["drop_reasons"]``;
- a refused step changes nothing: budget, every random generator, the student's parameters and
  optimizer, the family's own state (:func:`snapshot`); the next valid step gives exactly what it
  gives in an env that never saw the refused action;
- no warning leaks from numpy or torch (every call runs under ``warnings.simplefilter("error")``);
- a batched vector env refuses a bad action of one env, naming that env, and changes no env.

Full steps are costly (training, a reference replay), so the check-and-plan phase that every ``step``
runs first is also fuzzed alone, with more examples.

Runs are derandomized (the same examples every run). ``TEACHGYM_FUZZ_EXAMPLES=500 pytest
tests/test_fuzz.py`` draws that many fresh random examples per id instead, for a longer hunt.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import warnings
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import teachgym
from teachgym.domains.text import EXAMPLE_CHARSET, MAX_EXAMPLE_CHARS
from teachgym.env import TeachingEnv
from teachgym.errors import InvalidActionError
from teachgym.skills import Profile
from teachgym.students.lm import LMStudent
from teachgym.students.members import MemberStudent
from teachgym.students.simulated import SimulatedStudent
from teachgym.students.stacked import StackedMembers
from teachgym.vector import TeachingVectorEnv
from tests.conftest import ENV_IDS, make_env, valid_action

#: Examples per id: derandomized by default; ``TEACHGYM_FUZZ_EXAMPLES=N`` draws N random ones instead.
_EXAMPLES_OVERRIDE = int(os.environ.get("TEACHGYM_FUZZ_EXAMPLES", "0"))
#: Examples per id whose student is quick (simulated, MLP, GRU) and whose student is a language model
#: (a quarter of a second per step on a CPU).
QUICK_EXAMPLES, LM_EXAMPLES = 30, 3
#: The same for the check-and-plan phase alone (no training: more examples for the same time).
PLAN_EXAMPLES, LM_PLAN_EXAMPLES = 100, 50
#: Fuzzed actions per example (each example resets the env and takes one valid step first).
MAX_FUZZED_PER_EXAMPLE = 3
#: Longest message of a refusal (``_short`` in teachgym.actions bounds the value's part of it).
MAX_MESSAGE_CHARS = 1000


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=_EXAMPLES_OVERRIDE or max_examples,
        deadline=None,
        derandomize=not _EXAMPLES_OVERRIDE,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


# ---------------------------------------------------------------------------------------- snapshots
#: Env attributes that are configuration, not state (the student is snapshot on its own).
_CONFIG_ATTRIBUTES = frozenset(
    {
        "action_space",
        "observation_space",
        "_moves",
        "config",
        "domain",
        "engine",
        "objective",
        "skills",
        "spec",
        "student",
        "_validation",
        "_test",
    }
)


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
            "trace_gain": student._trace_gain,
            "trace_time": student._trace_time,
            "response_rngs": [rng.bit_generator.state for rng in student._response_rngs],
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


def _env_state(env: TeachingEnv) -> dict[str, Any]:
    state = {
        "budget": (env._step_count, env._examples_used, env._compute_used),
        "np_random": env.np_random.bit_generator.state,
        "engine_rng": env._engine_rng.bit_generator.state,
        "observation": env._observation(),
        # The family's own state (last allocation, intervention budget and item, tutoring clock, ...).
        "family": {k: v for k, v in sorted(vars(env).items()) if k not in _CONFIG_ATTRIBUTES},
    }
    if not isinstance(env.student, MemberStudent):  # a vector env's members are snapshot at once
        state["student"] = student_state(env.student)
    return state


def snapshot(env: gym.Env | TeachingVectorEnv) -> Any:
    """A frozen copy of everything a refused step must leave unchanged: the budget, the env's and the
    engine's generators, the student's state and generators, the family's own state; for a vector
    env, that of every env and of the population student."""
    base = env.unwrapped
    if isinstance(base, TeachingVectorEnv):
        return freeze(
            {
                "student": student_state(base.student),
                "envs": [_env_state(e) for e in base.envs],
                "autoreset": base._autoreset,
                "observations": base._observations,
            }
        )
    assert isinstance(base, TeachingEnv)
    return freeze(_env_state(base))


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


# --------------------------------------------------------------------------------------- strategies
# Every strategy draws ``(kind, action)``: ``"valid"`` must be accepted (unless the observation's
# ``action_mask`` forbids it), ``"bad"`` must be refused, ``"any"`` may go either way.
Tagged = tuple[str, Any]


def _tagged(**kinds: st.SearchStrategy[Any]) -> st.SearchStrategy[Tagged]:
    """A kind, then an action of that kind (``one_of`` would weigh kinds by their number of branches)."""
    return st.sampled_from(list(kinds)).flatmap(lambda kind: kinds[kind].map(lambda action: (kind, action)))


def _pick(*strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One of ``strategies``, each drawn about equally often however many branches it has."""
    return st.sampled_from(strategies).flatmap(lambda strategy: strategy)


class _Opaque:
    """An object numpy can only hold as ``dtype=object``."""

    def __repr__(self) -> str:
        return "<opaque>"


class _BrokenArray:
    """An object whose conversion to an array fails (as a torch tensor that requires grad does)."""

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise KeyError("no array here")

    def __repr__(self) -> str:
        return "<broken array>"


_HUGE = [1e308, -1e308, 2**70, -(2**70), 2**63, 2**64, -(2**63) - 1]
_NON_FINITE = [math.nan, math.inf, -math.inf]

#: Values that no action space accepts: not a number array, not a sequence of pairs.
_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.just(np.bool_(True)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([*_HUGE, *_NON_FINITE, np.float64(1.0), np.float32(np.nan), 1e-320]),
    st.complex_numbers(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.just(10_000).map(lambda n: "x" * n),
    st.binary(max_size=20),
    st.just(b"\xff\xfe\x00"),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.builds(_Opaque),
    st.builds(_BrokenArray),
    st.just(frozenset({1, 2})),
    st.just(np.datetime64("2024-01-01")),
    st.just(np.empty((0,))),
    st.just(np.empty((0, 3), np.int64)),
    st.just(np.array("1")),
)

_RAGGED = st.sampled_from([[[1.0], [1.0, 2.0]], [1, [2]], [[]], [None], ["1"], [[1, 2], [3]], [{}]])


def _requires_grad(shape: tuple[int, ...]) -> torch.Tensor:
    return torch.ones(shape, requires_grad=True)


# Box: allocation weights -----------------------------------------------------------------------
_FLOAT_DTYPES = st.sampled_from([np.float16, np.float32, np.float64])
_INT_DTYPES = st.sampled_from([np.int8, np.int64, np.uint8, np.uint64])


def box_actions(space: gym.spaces.Box) -> dict[str, st.SearchStrategy[Any]]:
    shape = space.shape
    unit = hnp.arrays(np.float64, shape, elements=st.floats(0.0, 1.0))
    positive = hnp.arrays(np.float32, shape, elements=st.floats(0.0, 1.0, width=32)).filter(
        lambda w: w.sum() > 0
    )

    def with_bad_entry(weights: np.ndarray, index: int, bad: float) -> np.ndarray:
        weights = weights.copy()
        weights.flat[index % weights.size] = bad
        return weights

    outside = st.one_of(
        st.floats(min_value=1.0, exclude_min=True),
        st.floats(max_value=0.0, exclude_max=True),
        st.sampled_from([*_NON_FINITE, 1e308, -1e308, -5e-324, 1.0 + 2**-52]),
    )
    wrong_dtype = st.sampled_from([bool, np.complex128, object, "U3", "S3", "m8[s]", "M8[D]"]).map(
        lambda dtype: np.ones(shape, dtype) if dtype is not object else np.full(shape, 1.0, object)
    )
    wrong_shape = hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=10).filter(lambda s: s != shape),
        elements=st.floats(0.0, 1.0, width=32),
    )
    valid = positive
    anything = _pick(
        st.tuples(unit, _FLOAT_DTYPES).map(lambda a: a[0].astype(a[1])),
        st.tuples(hnp.arrays(np.int64, shape, elements=st.integers(0, 1)), _INT_DTYPES).map(
            lambda a: a[0].astype(a[1])
        ),
        unit.map(lambda w: w.tolist()),  # nested lists
        unit.map(torch.from_numpy),
        st.integers(0, 2**32 - 1).map(lambda s: valid_action(space, 0, np.random.default_rng(s))),
        st.just(np.where(np.arange(int(np.prod(shape))).reshape(shape) == 0, 5e-324, 0.0)),  # subnormal
    )
    bad = _pick(
        _JUNK,
        st.integers(),
        st.tuples(unit, st.integers(0, 10**6), outside).map(lambda a: with_bad_entry(*a)),
        st.tuples(unit, st.integers(0, 10**6), outside).map(lambda a: with_bad_entry(*a).tolist()),
        hnp.arrays(np.int64, shape).filter(lambda w: (w < 0).any() or (w > 1).any()),
        st.sampled_from([np.float16, np.float32, np.float64, np.int8, np.uint8]).map(
            lambda dtype: np.zeros(shape, dtype)
        ),
        wrong_dtype,
        wrong_shape,
        wrong_shape.map(lambda w: w.tolist()),
        st.just(np.full(shape, 2**70, object).tolist()),  # Python ints beyond int64
        st.just(np.full(shape, 2**64 - 1, np.uint64)),
        _RAGGED,
        st.just(np.ma.masked_array(np.ones(shape), mask=np.zeros(shape, bool))),
        st.just(shape).map(_requires_grad),
        st.just(np.ones((1, *shape), np.float32)),
        st.just(np.empty((*shape, 0))),
    )
    return {"valid": valid, "any": anything, "bad": bad}


# Discrete: one choice --------------------------------------------------------------------------
def _int_forms(value: int) -> st.SearchStrategy[Any]:
    """Ways to pass the integer ``value``: Python, numpy scalars that hold it, 0-d and one-element
    arrays, a one-element list, torch tensors."""
    forms: list[Any] = [value, np.array(value), np.array([value]), [value]]
    for dtype in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32, np.uint64):
        info = np.iinfo(dtype)
        if info.min <= value <= info.max:
            forms.append(dtype(value))
    if -(2**63) <= value < 2**63:
        forms += [torch.tensor(value), torch.tensor([value])]
    return st.sampled_from(forms)


def discrete_actions(space: gym.spaces.Discrete) -> dict[str, st.SearchStrategy[Any]]:
    low, high = int(space.start), int(space.start + space.n - 1)
    in_range = st.integers(low, high)
    out_of_range = st.one_of(
        st.integers(max_value=low - 1), st.integers(min_value=high + 1), st.sampled_from([2**70, -(2**70)])
    )
    bad = _pick(
        _JUNK,
        out_of_range.flatmap(_int_forms),
        st.floats(),  # NaN, inf, 1.5 and whole floats alike
        in_range.map(float),
        in_range.map(np.float64),
        in_range.map(lambda v: np.array([v], np.float32)),
        in_range.map(lambda v: np.array([[v]])),  # one entry, but two dimensions
        in_range.map(str),
        in_range.map(lambda v: str(v).encode()),
        in_range.map(complex),
        st.sampled_from([True, False, np.bool_(False), np.array(True)]),
        hnp.arrays(
            np.int64,
            hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4).filter(
                lambda s: int(np.prod(s)) != 1
            ),
            elements=in_range,
        ),
        st.lists(in_range, min_size=2, max_size=4),
        st.just([]),
        _RAGGED,
        st.just(np.uint64(2**64 - 1)),
        st.just(torch.tensor(1.0, requires_grad=True)),
    )
    return {"valid": in_range.map(np.int64), "any": in_range.flatmap(_int_forms), "bad": bad}


# Text: (prompt, answer) pairs ------------------------------------------------------------------
_CHARSET = "".join(sorted(EXAMPLE_CHARSET))
_NUMBER = st.integers(0, 10**6) | st.integers(0, 10**60)
_PROMPT = st.one_of(
    st.builds("What is {} {} {}?".format, _NUMBER, st.sampled_from("+-*"), _NUMBER),
    st.builds("Which sign goes between {} and {}: <, > or =?".format, _NUMBER, _NUMBER),
    st.builds(
        "{} has {} apples, buys {} and gives away {}. How many apples does she have?".format,
        st.sampled_from(["Ann", "Zed"]),
        _NUMBER,
        _NUMBER,
        _NUMBER,
    ),
)
_ANSWER = st.one_of(st.integers(-(10**60), 10**60).map(str), st.sampled_from(["<", ">", "=", " 85. ", "085"]))
_TEXT_EDGES = [
    "",
    " ",
    "\n",
    "What is 1 + 1?\nWhat is 2 + 2?",
    "\t1",
    "\x00",
    "é",
    "数学",
    "\ud800",  # a lone surrogate: a str that is not valid UTF-8
]
#: Over-long texts, built when drawn (a strategy's repr would print them whole).
_LONG_TEXT = st.sampled_from(
    [("x", MAX_EXAMPLE_CHARS + 1), ("1", MAX_EXAMPLE_CHARS), ("x", 10_000), ("What is 1 + 1?", 1000)]
).map(lambda unit_count: unit_count[0] * unit_count[1])
_TEXT = st.one_of(
    _PROMPT,
    _ANSWER,
    st.text(alphabet=_CHARSET, max_size=30),
    st.text(max_size=30),
    st.sampled_from(_TEXT_EDGES),
    _LONG_TEXT,
    st.binary(max_size=20),
    st.sampled_from([b"What is 1 + 1?", b"2", b"\xff\xfe", b"\x80"]),
    st.sampled_from([None, 2, 2.0, math.nan, ["2"], ("2",), np.str_("2"), np.array("2")]),
)
_GOOD_PAIR = st.tuples(_PROMPT, _ANSWER)
_PAIR = st.one_of(_GOOD_PAIR, st.tuples(_TEXT, _TEXT), st.lists(_TEXT, min_size=2, max_size=2))
_NON_PAIR = st.one_of(
    st.tuples(_TEXT),
    st.tuples(_TEXT, _TEXT, _TEXT),
    st.just(()),
    st.just("ab"),  # a str of two characters is not a pair
    st.just(b"ab"),
    st.just(np.array(["What is 1 + 1?", "2"])),
    st.just({"prompt": "What is 1 + 1?", "answer": "2"}),
    st.none(),
    st.integers(),
)


def _sequence(pairs: list[Any], as_list: bool) -> Any:
    return list(pairs) if as_list else tuple(pairs)


def text_actions(space: gym.spaces.Sequence) -> dict[str, st.SearchStrategy[Any]]:
    """Valid: at most ``max_length`` pairs of anything (bad content is dropped, not refused)."""
    max_pairs = int(space.max_length)  # type: ignore[attr-defined]
    accepted = st.builds(_sequence, st.lists(_PAIR, max_size=max_pairs), st.booleans())
    with_non_pair = st.builds(
        lambda pairs, index, non_pair, as_list: _sequence(
            [*pairs[: index % (len(pairs) + 1)], non_pair, *pairs[index % (len(pairs) + 1) :]], as_list
        ),
        st.lists(_GOOD_PAIR, max_size=max_pairs - 1),
        st.integers(0, max_pairs),
        _NON_PAIR,
        st.booleans(),
    )
    too_many = st.builds(
        lambda pair, count, as_list: _sequence([pair] * count, as_list),
        _PAIR,
        st.integers(max_pairs + 1, 10_000),
        st.booleans(),
    )
    bad = _pick(
        _JUNK,
        st.integers(),
        st.just(np.array([["What is 1 + 1?", "2"]])),
        with_non_pair,
        too_many,
    )
    return {"valid": accepted, "bad": bad}


def actions_by_kind(space: gym.Space) -> dict[str, st.SearchStrategy[Any]]:
    """The action strategies of ``space``: kind -> strategy."""
    if isinstance(space, gym.spaces.Box):
        return box_actions(space)
    if isinstance(space, gym.spaces.Discrete):
        return discrete_actions(space)
    if isinstance(space, gym.spaces.Sequence):
        return text_actions(space)
    raise NotImplementedError(f"no fuzzing strategy for {space}; add one here")


def action_strategy(space: gym.Space) -> st.SearchStrategy[Tagged]:
    """``(kind, action)`` pairs for ``space``, each kind drawn about equally often."""
    return _tagged(**actions_by_kind(space))


def bad_action_strategy(space: gym.Space) -> st.SearchStrategy[Any]:
    """Actions that ``space``'s envs must refuse."""
    return actions_by_kind(space)["bad"]


# ----------------------------------------------------------------------------------------- checks
def _is_text(space: gym.Space) -> bool:
    return isinstance(space, gym.spaces.Sequence)


def _certainly_dropped(pair: Sequence[Any]) -> bool:
    """Whether a pair's content breaks the documented rules (text of the charset, non-empty, at most
    MAX_EXAMPLE_CHARS characters), so that the env must drop it."""
    return any(
        not isinstance(text, str)
        or not text.strip()
        or len(text) > MAX_EXAMPLE_CHARS
        or not set(text) <= EXAMPLE_CHARSET
        for text in pair
    )


def check_step_result(env: gym.Env, result: Any) -> None:
    assert isinstance(result, tuple) and len(result) == 5, f"step returned {type(result).__name__}"
    observation, reward, terminated, truncated, info = result
    assert env.observation_space.contains(observation), f"observation outside the space: {observation}"
    assert isinstance(reward, float | np.floating) and math.isfinite(reward), f"reward {reward!r}"
    assert isinstance(terminated, bool | np.bool_) and isinstance(truncated, bool | np.bool_)
    assert isinstance(info, dict)


def check_text_info(action: Sequence[Any], info: dict[str, Any], trained: int) -> None:
    """Every pair is counted: written = trained + dropped, and each drop has a reason."""
    dropped = info["examples_dropped"]
    assert info["examples_written"] == len(action)
    assert sum(info["drop_reasons"].values()) == dropped
    assert dropped >= sum(_certainly_dropped(pair) for pair in action)
    assert trained == len(action) - dropped, f"trained {trained} of {len(action)} with {dropped} dropped"


def check_refusal(error: InvalidActionError) -> None:
    message = str(error)
    assert isinstance(error, ValueError)
    assert message and "\n" not in message, f"refusal message is not one line: {message!r}"
    assert len(message) <= MAX_MESSAGE_CHARS, f"refusal message of {len(message)} characters"


# ------------------------------------------------------------------------------------- the envs
# Built once per id: construction (dataset loading, the language model) costs far more than a reset.
_ENVS: dict[tuple[str, str], gym.Env] = {}
_REFERENCES: dict[tuple[str, int], tuple[Any, Any]] = {}


def _make_quietly(env_id: str) -> gym.Env:
    """``make_env``, without Gymnasium's warning that an older version is out of date (the v0 ids stay
    registered for the leaderboards run on them); any other warning still fails a fuzzed call."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is out of date", category=DeprecationWarning)
        return make_env(env_id)


def _env(env_id: str, role: str = "fuzzed") -> gym.Env:
    if (env_id, role) not in _ENVS:
        _ENVS[env_id, role] = _make_quietly(env_id)
    return _ENVS[env_id, role]


def _mask(observation: dict[str, Any]) -> np.ndarray | None:
    return observation.get("action_mask")


def _replay(env: gym.Env, seed: int, actions: list[Any]) -> Any:
    """The result of the last of ``actions`` after a reset with ``seed`` (all must be accepted)."""
    env.reset(seed=seed)
    for action in actions[:-1]:
        env.step(action)
    return env.step(actions[-1])


def reference_result(env_id: str, seed: int, accepted: list[Any], last: Any) -> Any:
    """What the valid ``last`` action gives after the first valid step and the ``accepted`` fuzzed
    actions, in an env that never saw a refused action (a fresh env, cached when nothing was accepted)."""
    space = _env(env_id).action_space
    actions = [valid_action(space, 0), *accepted, last]
    if accepted:
        return freeze(_replay(_env(env_id, "reference"), seed, actions))
    frozen_last = freeze(last)
    if (env_id, seed) not in _REFERENCES or _REFERENCES[env_id, seed][0] != frozen_last:
        result = freeze(_replay(_make_quietly(env_id), seed, actions))
        _REFERENCES[env_id, seed] = (frozen_last, result)
    return _REFERENCES[env_id, seed][1]


def _is_slow(env_id: str) -> bool:
    return isinstance(_env(env_id).unwrapped.student, LMStudent)


def fuzz_one(env_id: str, seed: int, tagged_actions: list[Tagged]) -> None:
    """Reset, one valid step, the fuzzed actions, one more valid step; check every call. If an action
    was refused, the last step must equal that of an env that only saw the accepted actions."""
    env = _env(env_id)
    base = env.unwrapped
    space = env.action_space
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        observation, _ = env.reset(seed=seed)
        observation, *_ = env.step(valid_action(space, 0))
        accepted, refused = [], False
        for kind, action in tagged_actions:
            before = snapshot(env)
            examples_before = base._examples_used
            kept = copy.deepcopy(action)
            mask = _mask(observation)
            try:
                result = env.step(action)
            except InvalidActionError as error:
                event(f"{kind} action refused")
                refused = True
                check_refusal(error)
                assert_same(snapshot(env), before, f"after refusing {kind} action {action!r:.200}: env state")
                if kind == "valid":
                    allowed = mask is None or bool(mask[int(action) - int(space.start)])
                    assert not allowed, f"valid action {action!r:.200} refused: {error}"
            else:
                event(f"{kind} action accepted")
                assert kind != "bad", f"bad action {action!r:.200} was accepted"
                check_step_result(env, result)
                if _is_text(space):
                    check_text_info(action, result[4], base._examples_used - examples_before)
                accepted.append(action)
                observation = result[0]
            assert_same(action, kept, "the action after step (the env must not change it)")
        last = valid_action(space, 1, None, _mask(observation))
        result = env.step(last)
        check_step_result(env, result)
        if refused:  # else there is nothing to prove, and a replay costs a whole episode prefix
            expected = reference_result(env_id, seed, accepted, last)
            assert_same(freeze(result), expected, "the valid step after the refused ones")


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_fuzzed_actions_step_or_are_refused_without_change(env_id: str) -> None:
    env = _env(env_id)
    # Room for the first and the last valid step within the budget (3 steps for the slow ids).
    num_fuzzed = max(1, min(MAX_FUZZED_PER_EXAMPLE, env.unwrapped.num_steps - 2))
    slow = _is_slow(env_id)

    @fuzz_settings(LM_EXAMPLES if slow else QUICK_EXAMPLES)
    @given(
        seed=st.just(0) if slow else st.integers(0, 1),  # each seed of a slow id costs a fresh env
        tagged_actions=st.lists(action_strategy(env.action_space), min_size=1, max_size=num_fuzzed),
    )
    def run(seed: int, tagged_actions: list[Tagged]) -> None:
        fuzz_one(env_id, seed, tagged_actions)

    run()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_action_checks_refuse_or_plan_without_change(env_id: str) -> None:
    """The check-and-plan phase alone (``_check_action``, what ``step`` and the vector env run before
    anything changes), with many more examples than full steps allow: it refuses or plans, never
    crashes or warns, and changes nothing either way (the plan is only applied by ``step``)."""
    env = _env(env_id)
    base, space = env.unwrapped, env.action_space
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env.reset(seed=0)
        observation, *_ = env.step(valid_action(space, 0))
    mask = _mask(observation)
    before = snapshot(env)

    @fuzz_settings(LM_PLAN_EXAMPLES if _is_slow(env_id) else PLAN_EXAMPLES)
    @given(tagged=action_strategy(space))
    def run(tagged: Tagged) -> None:
        kind, action = tagged
        kept = copy.deepcopy(action)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                plan = base._check_action(action)
            except InvalidActionError as error:
                check_refusal(error)
                if kind == "valid":
                    assert mask is not None and not mask[int(action) - int(space.start)], (
                        f"valid action {action!r:.200} refused: {error}"
                    )
            else:
                assert kind != "bad", f"bad action {action!r:.200} was accepted"
                if _is_text(space):
                    assert plan.written == len(action)
                    assert sum(plan.dropped.values()) + len(plan.batch) == len(action)
                    assert sum(plan.dropped.values()) >= sum(_certainly_dropped(pair) for pair in action)
        assert_same(snapshot(env), before, f"after checking {kind} action {action!r:.200}: env state")
        assert_same(action, kept, "the action after the check (the env must not change it)")

    run()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_snapshot_sees_what_a_step_changes(env_id: str) -> None:
    """A refusal leaves the snapshot as it was and a valid step changes it (else the refusal checks
    above would prove nothing)."""
    env = _env(env_id)
    env.reset(seed=0)
    env.step(valid_action(env.action_space, 0))
    before = snapshot(env)
    with pytest.raises(InvalidActionError):
        env.step(None)
    assert_same(snapshot(env), before)
    observation = env.unwrapped._observation()
    env.step(valid_action(env.action_space, 1, None, _mask(observation)))
    assert snapshot(env) != before


# -------------------------------------------------------------------------------- the vector env
#: A simulated student (Box), a GRU (Discrete), an MLP with a masked Discrete action and a probe.
VECTOR_IDS = [
    "teachgym/SkillList-Sim-v0",
    "teachgym/Curriculum-Addition-v0",
    "teachgym/Intervention-Synthetic-v0",
]
NUM_ENVS = 2


def _make_vec(env_id: str) -> TeachingVectorEnv:
    vector = gym.make_vec(
        env_id,
        num_envs=NUM_ENVS,
        vectorization_mode="vector_entry_point",
        **teachgym.envs.quick_settings(env_id),
    )
    assert isinstance(vector.unwrapped, TeachingVectorEnv)
    return vector.unwrapped


def _valid_batch(vector: TeachingVectorEnv, observations: dict[str, Any], step: int) -> list[Any]:
    masks = observations.get("action_mask")
    return [
        valid_action(vector.single_action_space, step + i, None, None if masks is None else masks[i])
        for i in range(NUM_ENVS)
    ]


def test_vector_ids_cover_a_simulated_and_a_torch_student() -> None:
    kinds = {type(_make_vec(env_id).student).__name__ for env_id in VECTOR_IDS}
    assert "SimulatedStudent" in kinds and kinds & {"MLPStudent", "GRUStudent"}


@pytest.mark.parametrize("env_id", VECTOR_IDS)
def test_vector_env_refuses_one_bad_action_and_changes_no_env(env_id: str) -> None:
    fuzzed, untouched = _make_vec(env_id), _make_vec(env_id)

    @fuzz_settings(8)
    @given(
        seed=st.integers(0, 1),
        index=st.integers(0, NUM_ENVS - 1),
        bad=bad_action_strategy(fuzzed.single_action_space),
    )
    def run(seed: int, index: int, bad: Any) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            observations, _ = fuzzed.reset(seed=seed)
            untouched.reset(seed=seed)
            first = _valid_batch(fuzzed, observations, 0)
            observations, *_ = fuzzed.step(first)
            untouched.step(first)
            before = snapshot(fuzzed)
            actions = _valid_batch(fuzzed, observations, 1)
            actions[index] = bad
            with pytest.raises(InvalidActionError, match=f"^env {index} of the vector env: ") as error:
                fuzzed.step(actions)
            check_refusal(error.value)
            assert_same(snapshot(fuzzed), before, f"vector env after refusing {bad!r:.200} in env {index}")
            after = _valid_batch(fuzzed, observations, 2)
            assert_same(fuzzed.step(after), untouched.step(after), "the valid step after the refusal")

    run()


@pytest.mark.parametrize("batch", ["none", "scalar", "too few", "too many"])
def test_vector_env_refuses_a_batch_of_the_wrong_size(batch: str) -> None:
    vector = _make_vec(VECTOR_IDS[0])
    observations, _ = vector.reset(seed=0)
    actions = _valid_batch(vector, observations, 0)
    bad = {"none": None, "scalar": 1.0, "too few": actions[:-1], "too many": [*actions, actions[0]]}[batch]
    before = snapshot(vector)
    with pytest.raises(InvalidActionError):
        vector.step(bad)
    assert_same(snapshot(vector), before)
